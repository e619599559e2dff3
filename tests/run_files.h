/* run_files.h: comparing the files of two run directories, as the
 * end-to-end training tests do: log.csv's trajectory columns and checkpoint
 * sections, byte for byte. Failures fail the test naming the directories. */
#ifndef MUTAU_TESTS_RUN_FILES_H
#define MUTAU_TESTS_RUN_FILES_H

#include <stdint.h>

/* DIR/log.csv with only the columns of `keep` (a string of 0/1, one per
 * column); malloc'd. */
char *run_log_columns(const char *dir, const char *keep);

/* DIR_A/log.csv and DIR_B/log.csv agree on the columns of `keep` (and have
 * an epoch 1). */
void run_expect_same_log(const char *a, const char *b, const char *keep);

/* Section `sec` of DIR/checkpoint.bin (core/checkpoint.h's layout: 24 bytes
 * of header, then name[24], u64 size, bytes); malloc'd, its size in *size. */
char *run_ckpt_section(const char *dir, const char *sec, uint64_t *size);

/* The sections `secs` (NULL-terminated) of both checkpoints are equal. */
void run_expect_same_sections(const char *a, const char *b, const char *const *secs);

#endif
