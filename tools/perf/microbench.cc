// SPDX-License-Identifier: MIT
// mcsi-microbench: Google Benchmark over the protocol code, through the C
// shim in microbench_shim.c. Not part of the test suite; run it by hand:
//   mcsi-microbench [--benchmark_filter=REGEX] [--benchmark_min_time=0.2]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>

#include "microbench_shim.h"

static constexpr size_t kMax = 1u << 20;

static void BM_PduBuildScsiCmd(benchmark::State &st)
{
	uint32_t itt = 0;
	for (auto _ : st)
		benchmark::DoNotOptimize(mb_pdu_build_scsi_cmd(itt++));
}
BENCHMARK(BM_PduBuildScsiCmd);

static void BM_PduCheckDataIn(benchmark::State &st)
{
	for (auto _ : st)
		benchmark::DoNotOptimize(mb_pdu_check_data_in());
}
BENCHMARK(BM_PduCheckDataIn);

static void BM_NegotiateOperational(benchmark::State &st)
{
	for (auto _ : st)
		benchmark::DoNotOptimize(mb_negotiate());
}
BENCHMARK(BM_NegotiateOperational);

// Arguments: data segment bytes, digests (0/1).
static void BM_SegTx(benchmark::State &st)
{
	size_t len = (size_t)st.range(0);
	int dig = (int)st.range(1);
	for (auto _ : st)
		benchmark::DoNotOptimize(mb_seg_tx(len, dig));
	st.SetBytesProcessed((int64_t)st.iterations() * (int64_t)len);
}
BENCHMARK(BM_SegTx)->ArgsProduct({ { 512, 4096, 65536, 262144 }, { 0, 1 } });

// Arguments: PDUs per receive, data segment bytes, digests.
static void BM_SegRxBatch(benchmark::State &st)
{
	unsigned n = (unsigned)st.range(0);
	size_t len = (size_t)st.range(1);
	int dig = (int)st.range(2);
	for (auto _ : st)
		benchmark::DoNotOptimize(mb_seg_rx_batch(n, len, dig));
	st.SetItemsProcessed((int64_t)st.iterations() * n);
	st.SetBytesProcessed((int64_t)st.iterations() * n * (int64_t)len);
}
BENCHMARK(BM_SegRxBatch)->ArgsProduct({ { 1, 16 }, { 512, 4096 }, { 0, 1 } });

static void BM_SegRxDirect(benchmark::State &st)
{
	size_t len = (size_t)st.range(0);
	int dig = (int)st.range(1);
	for (auto _ : st)
		benchmark::DoNotOptimize(mb_seg_rx_direct(len, dig));
	st.SetBytesProcessed((int64_t)st.iterations() * (int64_t)len);
}
BENCHMARK(BM_SegRxDirect)->ArgsProduct({ { 65536, 262144 }, { 0, 1 } });

// mcsi's digest against ISA-L called directly: the wrapper's overhead.
static void BM_DigestMcsi(benchmark::State &st)
{
	size_t len = (size_t)st.range(0);
	for (auto _ : st)
		benchmark::DoNotOptimize(mb_digest(len));
	st.SetBytesProcessed((int64_t)st.iterations() * (int64_t)len);
}
BENCHMARK(BM_DigestMcsi)->Arg(48)->Arg(512)->Arg(4096)->Arg(65536)->Arg(1 << 20);

static void BM_DigestIsal(benchmark::State &st)
{
	size_t len = (size_t)st.range(0);
	for (auto _ : st)
		benchmark::DoNotOptimize(mb_isal_crc(len));
	st.SetBytesProcessed((int64_t)st.iterations() * (int64_t)len);
}
BENCHMARK(BM_DigestIsal)->Arg(48)->Arg(512)->Arg(4096)->Arg(65536)->Arg(1 << 20);

int main(int argc, char **argv)
{
	if (mb_setup(kMax) < 0) {
		std::fprintf(stderr, "mcsi-microbench: setup failed\n");
		return 1;
	}
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	mb_teardown();
	return 0;
}
