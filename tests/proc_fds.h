/*
 * proc_fds.h - what a test process holds, read from /proc/self/fd (shared
 * by the unit and crash tests of the IDLE watcher).
 */
#ifndef LS_TEST_PROC_FDS_H
#define LS_TEST_PROC_FDS_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The number of inotify instances this process holds, or -1. */
static inline int tu_inotify_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    char path[300], target[256];
    while ((e = readdir(d))) {
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(path, target, sizeof target - 1);
        if (k > 0) {
            target[k] = 0;
            n += strstr(target, "inotify") != NULL;
        }
    }
    closedir(d);
    return n;
}

#endif
