/* topology.c: which physical cores this process may use, found once per process. */
#include "pool/topology.h"

#include <hwloc.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ndpar_cores cores_found;
static int cores_single_cpu; /* the fallback when even allocation fails */
static pthread_once_t cores_once = PTHREAD_ONCE_INIT;

double ndpar_cgroup_parse_cpu_max(const char *text) {
  char quota[32];
  unsigned long long period;
  if (text == NULL || sscanf(text, "%31s %llu", quota, &period) != 2 || period == 0) return -1;
  if (strcmp(quota, "max") == 0) return 0;
  char *end;
  unsigned long long q = strtoull(quota, &end, 10);
  if (*end != '\0' || q == 0) return -1;
  return (double)q / (double)period;
}

double ndpar_cgroup_parse_cfs(const char *quota, const char *period) {
  if (quota == NULL || period == NULL) return -1;
  char *end;
  long long q = strtoll(quota, &end, 10);
  if (end == quota) return -1;
  if (q < 0) return 0; /* -1: no limit */
  long long p = strtoll(period, &end, 10);
  if (end == period || p <= 0 || q == 0) return -1;
  return (double)q / (double)p;
}

static int read_small_file(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  size_t got = fread(buf, 1, size - 1, f);
  fclose(f);
  buf[got] = '\0';
  return 0;
}

/* The smallest positive quota over dir and its ancestors up to root. */
static double min_quota_upwards(const char *root, const char *cgpath, int v2) {
  char dir[4096], path[4200], a[128], b[128];
  double best = 0;
  snprintf(dir, sizeof dir, "%s%s", root, cgpath);
  size_t rootlen = strlen(root);
  for (;;) {
    double q = -1;
    if (v2) {
      snprintf(path, sizeof path, "%s/cpu.max", dir);
      if (read_small_file(path, a, sizeof a) == 0) q = ndpar_cgroup_parse_cpu_max(a);
    } else {
      snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
      if (read_small_file(path, a, sizeof a) == 0) {
        snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
        if (read_small_file(path, b, sizeof b) == 0) q = ndpar_cgroup_parse_cfs(a, b);
      }
    }
    if (q > 0 && (best == 0 || q < best)) best = q;
    char *slash = strrchr(dir, '/');
    if (slash == NULL || (size_t)(slash - dir) < rootlen) break;
    *slash = '\0';
  }
  return best;
}

double ndpar_cgroup_cpu_quota(void) {
  FILE *f = fopen("/proc/self/cgroup", "r");
  if (f == NULL) return 0;
  char line[4096];
  double best = 0;
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    /* "hierarchy-id:controllers:path"; v2 is "0::path" */
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c2 == NULL) continue;
    *c2 = '\0';
    const char *controllers = c1 + 1, *cgpath = c2 + 1;
    if (strcmp(cgpath, "/") == 0) cgpath = "";
    double q = 0;
    if (controllers[0] == '\0') {
      q = min_quota_upwards("/sys/fs/cgroup", cgpath, 1);
    } else if (strstr(controllers, "cpu") && !strstr(controllers, "cpuset")) {
      q = min_quota_upwards("/sys/fs/cgroup/cpu", cgpath, 0);
      if (q == 0) q = min_quota_upwards("/sys/fs/cgroup/cpu,cpuacct", cgpath, 0);
    }
    if (q > 0 && (best == 0 || q < best)) best = q;
  }
  fclose(f);
  return best;
}

size_t ndpar_cores_capped(size_t cores, double quota) {
  if (quota <= 0) return cores;
  size_t allowed = (size_t)ceil(quota - 1e-9);
  if (allowed < 1) allowed = 1;
  return allowed < cores ? allowed : cores;
}

/* One PU per core of the topology, restricted to the process binding when `bound`. */
static size_t cores_from_hwloc(int **out, int bound) {
  hwloc_topology_t topo;
  if (hwloc_topology_init(&topo) != 0) return 0;
  /* Keep cores and PUs only: caches, NUMA details and I/O cost load time we don't need. */
  hwloc_topology_set_all_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
  hwloc_topology_set_type_filter(topo, HWLOC_OBJ_CORE, HWLOC_TYPE_FILTER_KEEP_ALL);
  hwloc_topology_set_type_filter(topo, HWLOC_OBJ_PU, HWLOC_TYPE_FILTER_KEEP_ALL);
  /* RESTRICT_TO_CPUBINDING (hwloc >= 2.5) needs IS_THISSYSTEM; DONT_CHANGE_BINDING keeps
   * the x86 backend from rebinding threads of an application that is already running. */
  unsigned long restrict_flag = bound ? HWLOC_TOPOLOGY_FLAG_RESTRICT_TO_CPUBINDING : 0;
  hwloc_topology_set_flags(topo, HWLOC_TOPOLOGY_FLAG_IS_THISSYSTEM | restrict_flag |
                                     HWLOC_TOPOLOGY_FLAG_DONT_CHANGE_BINDING);
  size_t n = 0;
  if (hwloc_topology_load(topo) == 0) {
    hwloc_obj_type_t type = HWLOC_OBJ_CORE;
    int count = hwloc_get_nbobjs_by_type(topo, type);
    if (count <= 0) { /* some VMs report no cores: count PUs instead */
      type = HWLOC_OBJ_PU;
      count = hwloc_get_nbobjs_by_type(topo, type);
    }
    int *cpu = count > 0 ? malloc((size_t)count * sizeof *cpu) : NULL;
    for (int i = 0; cpu && i < count; i++) {
      hwloc_obj_t obj = hwloc_get_obj_by_type(topo, type, (unsigned)i);
      int first = hwloc_bitmap_first(obj->cpuset);
      if (first >= 0) cpu[n++] = first;
    }
    if (n == 0) free(cpu);
    else *out = cpu;
  }
  hwloc_topology_destroy(topo);
  return n;
}

/* Fallback: every CPU of the affinity mask counts as a core. */
static size_t cores_from_affinity(int **out) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  int *cpu = malloc((size_t)CPU_COUNT(&set) * sizeof *cpu);
  if (cpu == NULL) return 0;
  size_t n = 0;
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &set)) cpu[n++] = c;
  *out = cpu;
  return n;
}

static void cores_load(void) {
  int *cpu = NULL;
  size_t n = cores_from_hwloc(&cpu, 1);
  cores_found.source = "hwloc";
  if (n == 0) {
    n = cores_from_affinity(&cpu);
    cores_found.source = "affinity";
  }
  if (n == 0) { /* nothing found at all: one core, unpinned work still runs */
    cpu = &cores_single_cpu;
    n = 1;
  }
  cores_found.quota = ndpar_cgroup_cpu_quota();
  cores_found.count = ndpar_cores_capped(n, cores_found.quota);
  cores_found.cpu = cpu; /* kept for the life of the process */
}

const ndpar_cores *ndpar_cores_get(void) {
  pthread_once(&cores_once, cores_load);
  return &cores_found;
}

/* ---- the machine's cores, whatever this process is bound to ---- */

static ndpar_cores machine_found;
static pthread_once_t machine_once = PTHREAD_ONCE_INIT;

static void machine_load(void) {
  int *cpu = NULL;
  size_t n = cores_from_hwloc(&cpu, 0);
  if (n == 0) { /* hwloc could not load: what the process may use is all we know */
    machine_found = *ndpar_cores_get();
    return;
  }
  machine_found.source = "hwloc";
  machine_found.quota = ndpar_cgroup_cpu_quota();
  machine_found.count = ndpar_cores_capped(n, machine_found.quota);
  machine_found.cpu = cpu; /* kept for the life of the process */
}

const ndpar_cores *ndpar_cores_machine(void) {
  pthread_once(&machine_once, machine_load);
  return &machine_found;
}
