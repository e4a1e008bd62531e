/* keep_loaded.c: dlclose() as a no-op for the test binary.
 *
 * Open MPI loads its components (mca_*.so) with dlopen and unloads them in MPI_Finalize.
 * LeakSanitizer reports at exit, when the allocations those components keep until exit
 * have stacks in modules no longer loaded: "<unknown module>", which no suppression can
 * name. With the components kept loaded, their frames carry their file names, and
 * tests/mpi/lsan.supp suppresses MPI's own allocations by library while any leak in
 * ndpar or in the tests is still reported. The executable's definition interposes on
 * libc's for every library of the process. */
int dlclose(void *handle);

int dlclose(void *handle) {
  (void)handle;
  return 0;
}
