/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The daemon's side of delivery (pr-delivery.h, and the queue notification
 * of pr-queue.h): the delivery settings, a snapshot of the routing
 * directory shared by every store worker and reloaded when the store's
 * directory version changes, and the jobs that check recipients and
 * deliver. */

#include "delivery.h"
#include "host.h"

typedef struct _DeliveryService DeliveryService;

DeliveryService *delivery_service_new(PrHost *host);
void delivery_service_free(DeliveryService *service);

/* Drops @module's queue notification (after its deinit). */
void delivery_service_forget_module(DeliveryService *service, PrModule *module);

/* The addresses modules own (delivery-owned.h). */
struct _OwnedAddresses *delivery_service_owned(DeliveryService *service);

/* Called on the main thread after a delivery queued remote recipients. */
void delivery_service_queued(DeliveryService *service);
