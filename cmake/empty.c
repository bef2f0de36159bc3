/* Placeholder translation unit for a layer that has no sources yet. */
typedef int mcsi_empty_layer;
