#ifndef WEFT_CZEROMQ_SHIM_H
#define WEFT_CZEROMQ_SHIM_H
#include <zmq.h>
#include <sys/eventfd.h>  /* WakeSignal: cross-thread wake-ups in a zmq_poll set */
#endif
