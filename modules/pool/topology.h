/* topology.h: the cores this process may use (internal to the pool; tested directly). */
#ifndef NDPAR_POOL_TOPOLOGY_H
#define NDPAR_POOL_TOPOLOGY_H

#include <stddef.h>

/* The allowed physical cores, each named by the OS index of one of its PUs, in topology
 * order: the topology's cores within the process's CPU binding, capped by the cgroup CPU
 * quota. Loaded once per process (filtered to cores and PUs: a full load costs 50 ms and
 * more). count >= 1 always; source says how it was found. */
typedef struct {
  size_t count;
  const int *cpu;      /* cpu[i]: the PU that a worker on core i is bound to */
  const char *source;  /* "hwloc", or "affinity" where hwloc could not load */
  double quota;        /* CPUs the cgroup quota allows; 0 where there is none */
} ndpar_cores;

const ndpar_cores *ndpar_cores_get(void);

/* The same without the process's CPU binding: the cores of the machine (its cgroup cpuset
 * and quota still apply). What a rank alone on its node may use whatever its launcher bound
 * it to (mpirun binds a single rank to one core by default). */
const ndpar_cores *ndpar_cores_machine(void);

/* Parsers of the cgroup files, in CPUs (quota / period). 0: no limit; -1: malformed. */
double ndpar_cgroup_parse_cpu_max(const char *text);            /* v2: "max 100000", "150000 100000" */
double ndpar_cgroup_parse_cfs(const char *quota, const char *period); /* v1: "-1" or microseconds */

/* The quota that applies to this process, walking its cgroup and each ancestor and taking
 * the smallest; 0 where there is none. */
double ndpar_cgroup_cpu_quota(void);

/* How many workers a quota of q CPUs allows out of `cores`: ceil(q), at least 1. */
size_t ndpar_cores_capped(size_t cores, double quota);

#endif
