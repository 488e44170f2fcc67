#ifndef WEFT_CSOXR_SHIM_H
#define WEFT_CSOXR_SHIM_H
/* libsoxr: the SoX resampler, for audio that is not at the speech model's 16 kHz. */
#include <soxr.h>
#endif
