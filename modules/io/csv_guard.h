/* csv_guard.h: file mappings guarded against SIGBUS when the file shrinks (csv_guard.c). */
#ifndef NDPAR_CSV_GUARD_H
#define NDPAR_CSV_GUARD_H

#include <stddef.h>

/* Registers the mapping [start, start + len): a read past the file's end inside it then
 * reads zeros instead of raising SIGBUS. Returns the slot, or -1 (no handler could be
 * installed, or 64 mappings are registered already: the caller reads the file instead). */
int csv_guard_add(const void *start, size_t len);

/* Unregisters a slot (before the mapping is unmapped); 1 if a read found the file shrunk.
 * slot -1: 0. */
int csv_guard_remove(int slot);

#endif
