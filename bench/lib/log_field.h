/* log_field.h: one number from a run directory's log.csv, for the benchmarks
 * that time `mutau train` runs and read back what they logged. */
#ifndef MT_BENCH_LOG_FIELD_H
#define MT_BENCH_LOG_FIELD_H

/* Field `col` (0-based) of the last line of dir/log.csv; -1 when missing. */
double mt_bench_log_last_field(const char *dir, int col);

#endif
