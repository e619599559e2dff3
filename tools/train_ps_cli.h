/* train_ps_cli.h: the multi-worker flags of `mutau train` (--workers, --mode,
 * --delay, --delay-dist, --shards, --oversubscribe, --ignore-memory), for tools/cmd_train.c.
 * Their record in config.json and the run itself are trainer/train_ps.h.
 */
#ifndef MT_TOOLS_TRAIN_PS_CLI_H
#define MT_TOOLS_TRAIN_PS_CLI_H

#include "trainer/train_ps.h"

/* Whether `flag` (without the dashes) is one of them. */
int train_ps_is_flag(const char *flag);

/* Applies one of them to p; -1 after printing the error naming the flag. */
int train_ps_flag(mt_train_ps_config *p, const char *flag, const char *arg);

#endif
