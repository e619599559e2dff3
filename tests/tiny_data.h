/* tiny_data.h: the dataset of the end-to-end training tests: small enough
 * that a tiny ResNet trains an epoch in well under a second, big enough for
 * several batches per epoch.
 *
 * Not a benchmark set: its images are synthetic and say nothing of accuracy
 * on real data.
 */
#ifndef MUTAU_TESTS_TINY_DATA_H
#define MUTAU_TESTS_TINY_DATA_H

/* Writes a 4-class 1x8x8 IDX dataset of 192 training and 64 test images
 * (not gzipped) into dir; fails the test when it cannot. */
void tiny_data_write(const char *dir);

#endif
