/* A main for the fuzz targets without libFuzzer: every argument is a file (run once)
   or a directory (every regular file in it, sorted, one level deep); no argument or
   "-" reads one input from stdin. Under AFL++: afl-fuzz -i seeds -o out -- ./target @@
   Prints how many inputs ran; a crash or a failed invariant aborts like in libFuzzer. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long g_runs;

static int run_stream(FILE *f, const char *name) {
    size_t cap = 4096, n = 0, k;
    uint8_t *buf = (uint8_t *)malloc(cap), *copy;
    if (!buf) return 1;
    while ((k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            uint8_t *nb = (uint8_t *)realloc(buf, cap *= 2);
            if (!nb) { free(buf); return 1; }
            buf = nb;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "read error: %s\n", name);
        free(buf);
        return 1;
    }
    /* Exactly n bytes on the heap, so ASan sees any read past the input. */
    copy = (uint8_t *)malloc(n ? n : 1);
    if (!copy) { free(buf); return 1; }
    if (n) memcpy(copy, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
    g_runs++;
    return 0;
}

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    int r;
    if (!f) { perror(path); return 1; }
    r = run_stream(f, path);
    fclose(f);
    return r;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path) {
    struct stat st;
    DIR *d;
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int bad = 0;
    if (stat(path, &st) != 0) { perror(path); return 1; }
    if (!S_ISDIR(st.st_mode)) return run_file(path);
    d = opendir(path);
    if (!d) { perror(path); return 1; }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            char **nn = (char **)realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names);
            if (!nn) break;
            names = nn;
        }
        names[n] = (char *)malloc(strlen(path) + strlen(e->d_name) + 2);
        if (!names[n]) break;
        sprintf(names[n], "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_names);
    for (i = 0; i < n; i++) {
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) bad |= run_file(names[i]);
        free(names[i]);
    }
    free(names);
    return bad;
}

int main(int argc, char **argv) {
    int i, bad = 0;
    if (argc < 2 || (argc == 2 && strcmp(argv[1], "-") == 0)) {
        bad = run_stream(stdin, "<stdin>");
    } else {
        for (i = 1; i < argc; i++) bad |= run_path(argv[i]);
    }
    fprintf(stderr, "%s: %lu inputs replayed\n", argv[0], g_runs);
    return bad;
}
