/*-------------------------------------------------------------------------
 *
 * globalsync.h
 *	  Declarations shared by every room of the extension.
 *
 *-------------------------------------------------------------------------
 */
#ifndef GLOBALSYNC_H
#define GLOBALSYNC_H

#define GLOBALSYNC_VERSION "0.1.0"

/* True when the library was loaded through shared_preload_libraries. */
extern bool gs_loaded_at_startup;

#endif							/* GLOBALSYNC_H */
