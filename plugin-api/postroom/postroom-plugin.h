/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/**
 * SECTION:postroom-plugin
 * @title: postroom-plugin.h
 *
 * The one header a Postroom module includes. Link with
 * `pkg-config --cflags --libs postroom-plugin-1` and install the module as
 * `$(pkg-config --variable=moduledir postroom-plugin-1)/<name>.so`.
 */

#define POSTROOM_PLUGIN_INSIDE
#include <postroom/pr-version.h>
#include <postroom/pr-module.h>
#include <postroom/pr-host.h>
#include <postroom/pr-protocol.h>
#include <postroom/pr-connection.h>
#include <postroom/pr-auth.h>
#include <postroom/pr-store.h>
#include <postroom/pr-mailbox.h>
#include <postroom/pr-folder.h>
#include <postroom/pr-delivery.h>
#include <postroom/pr-queue.h>
#include <postroom/pr-collector.h>
#include <postroom/pr-smtp.h>
#include <postroom/pr-log.h>
#undef POSTROOM_PLUGIN_INSIDE
