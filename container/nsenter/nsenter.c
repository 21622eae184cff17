// The constructor behind package nsenter. It runs before the Go runtime, in a process started
// by `mydocker exec` with _MYDOCKER_NSENTER_PID=<pid of the container's init>:
//
//  1. wait for the parent's go-ahead on fd 3 (it has put us in the container's cgroups);
//  2. open the init's namespaces, then setns(2) into each — the mount namespace too, which
//     is why this must happen while the process is single-threaded;
//  3. fork: joining a PID namespace only applies to children. The child returns into the Go
//     runtime, now fully inside the container; the parent waits for it, passes signals on,
//     and exits with its status (128+n for signal n), so exit codes reach the user.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child = -1;

static void forward(int sig) {
	if (child > 0)
		kill(child, sig);
}

static void fail(const char *what, const char *ns) {
	fprintf(stderr, "mydocker exec: %s %s: %s\n", what, ns, strerror(errno));
	_exit(126);
}

__attribute__((constructor)) static void nsenter(void) {
	const char *pid = getenv("_MYDOCKER_NSENTER_PID");
	if (pid == NULL)
		return;

	char go;
	if (read(3, &go, 1) != 1) {
		fprintf(stderr, "mydocker exec: the parent went away\n");
		_exit(126);
	}

	// The mount namespace goes last: after it, /proc is the container's.
	const char *names[] = {"ipc", "uts", "net", "pid", "mnt"};
	int fds[5];
	for (int i = 0; i < 5; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%s/ns/%s", pid, names[i]);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			fail("open namespace", path);
	}
	for (int i = 0; i < 5; i++) {
		// Already there (e.g. --net host): nothing to join.
		char self[64];
		struct stat a, b;
		snprintf(self, sizeof(self), "/proc/self/ns/%s", names[i]);
		if (fstat(fds[i], &a) == 0 && stat(self, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			close(fds[i]);
			continue;
		}
		if (setns(fds[i], 0) < 0)
			fail("join namespace", names[i]);
		close(fds[i]);
	}

	child = fork();
	if (child < 0)
		fail("fork", "");
	if (child == 0)
		return;

	close(3);
	int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);

	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR)
			_exit(126);
	}
	if (WIFSIGNALED(status))
		_exit(128 + WTERMSIG(status));
	_exit(WEXITSTATUS(status));
}
