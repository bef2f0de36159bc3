/* libmcsi.so is assembled from the layer archives (see CMakeLists.txt);
 * this translation unit only anchors the target and reports the version. */
#include "mcsi/version.h"

MCSI_API const char *mcsi_version(void)
{
	return MCSI_VERSION_STRING;
}
