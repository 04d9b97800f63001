//! Data-movement kernels generic over the element type: transpose, concat, split, slice,
//! gather, where, expand, tile, pad, and casts between element types.
