/*  prokit.h: the whole public API. Include this and nothing else. */
#ifndef PROKIT_H_INCLUDED
#define PROKIT_H_INCLUDED

#define PROKIT_VERSION_MAJOR 0
#define PROKIT_VERSION_MINOR 1
#define PROKIT_VERSION_PATCH 0

#include "prokit/broker.h"
#include "prokit/error.h"
#include "prokit/info.h"
#include "prokit/log.h"
#include "prokit/main.h"
#include "prokit/message.h"
#include "prokit/payload.h"
#include "prokit/window.h"

#endif
