/* libmcsi.so is assembled from the layer archives (see CMakeLists.txt);
 * this translation unit only anchors the target. */
typedef int mcsi_shared_anchor;
