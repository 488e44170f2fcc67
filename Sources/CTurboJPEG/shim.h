#ifndef WEFT_CTURBOJPEG_SHIM_H
#define WEFT_CTURBOJPEG_SHIM_H
/* libjpeg-turbo's TurboJPEG API: errors come back as return codes, not longjmp. */
#include <turbojpeg.h>
#endif
