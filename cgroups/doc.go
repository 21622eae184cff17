// Package cgroups manages a container's control groups: it creates them, puts processes in
// them, writes their limits (through package subsystems), reads their usage and removes them.
//
// A cgroup is a directory in a cgroup filesystem; its files are the limits and counters of the
// processes listed in its cgroup.procs. Linux has two versions:
//
//   - v1 mounts one hierarchy per controller (/sys/fs/cgroup/memory, /sys/fs/cgroup/cpu, ...),
//     and a process can sit at a different place in each;
//   - v2 mounts a single tree (/sys/fs/cgroup), where a controller works in a cgroup only if
//     every ancestor lists it in cgroup.subtree_control, and only leaves hold processes.
//
// Hosts mix them: "hybrid" is v1 controllers plus an empty v2 tree at /sys/fs/cgroup/unified.
// The mode is detected once (DetectMode); New is the only place that picks a version.
//
// A container's cgroups are <this process's cgroup>/mydocker/<id>, found per controller from
// /proc/self/mountinfo (where each hierarchy is mounted) and /proc/self/cgroup (where this
// process sits in it): the two need not agree across controllers — on the machine this was
// written on, the memory controller puts mydocker in a nested cgroup, the others at the root.
// Since another mydocker process may sit elsewhere, the paths are saved with the container
// and reloaded with Load.
package cgroups
