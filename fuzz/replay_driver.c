// SPDX-License-Identifier: GPL-2.0-only
/*
 * A main() for builds without libFuzzer (gcc; the ASan and TSan builds),
 * like zstd's regression_driver.c: feeds each file named on the command
 * line, and every regular file of each directory named (in name order), to
 * LLVMFuzzerTestOneInput() once.  A failed check aborts, as under libFuzzer;
 * otherwise it prints how many inputs ran and exits 0.  ctest runs it on
 * each target's seed corpus, so the corpora are regression tests in every
 * build.
 *
 *   fuzz_mmu_ops_replay fuzz/corpus/fuzz_mmu_ops crash-0123abcd
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_helpers.h"

static int run_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf = NULL;
	long size;

	if (!fp) {
		perror(path);
		return -1;
	}
	if (fseek(fp, 0, SEEK_END) || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET)) {
		perror(path);
		fclose(fp);
		return -1;
	}
	/* One spare byte so that an empty input still has a valid pointer. */
	buf = malloc(size + 1);
	if (!buf || fread(buf, 1, size, fp) != (size_t)size) {
		fprintf(stderr, "%s: read failed\n", path);
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, size);
	free(buf);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, unsigned long *count)
{
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d) {
		perror(dir);
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names) {
				closedir(d);
				return -1;
			}
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (!stat(path, &st) && S_ISREG(st.st_mode)) {
			if (run_file(path))
				r = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	struct stat st;
	int i, r = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st)) {
			perror(argv[i]);
			r = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &count))
				r = 1;
		} else if (run_file(argv[i])) {
			r = 1;
		} else {
			count++;
		}
	}
	printf("%s: %lu input(s) replayed\n", argv[0], count);
	return r;
}
