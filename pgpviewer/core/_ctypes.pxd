# Element types shared by the compiled kernels (cimported by _cfilters.pyx and _clabels.pyx).
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t

# image pixels (bool images are passed as uint8)
ctypedef fused pix_t:
    uint8_t
    uint16_t
    int32_t
    int64_t
    float
    double

# label images
ctypedef fused lab_t:
    int32_t
    int64_t
