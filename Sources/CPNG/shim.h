#ifndef WEFT_CPNG_SHIM_H
#define WEFT_CPNG_SHIM_H
/* libpng's simplified API (png_image_*): errors come back in png_image.message, not longjmp. */
#include <png.h>
#endif
