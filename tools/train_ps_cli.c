/* train_ps_cli.c: the multi-worker flags of `mutau train` (see train_ps_cli.h). */
#include "tools/train_ps_cli.h"

#include "core/status.h"
#include "ps/ps.h"
#include "tools/cli.h"

#include <string.h>

static const char *const CMD = "train";

int train_ps_is_flag(const char *flag)
{
    static const char *const flags[] = {"workers", "mode", "delay", "delay-dist", "shards",
                                        "oversubscribe", "ignore-memory", "method", "max-staleness",
                                        "stale-policy", NULL};
    for (int i = 0; flags[i]; i++)
        if (strcmp(flag, flags[i]) == 0)
            return 1;
    return 0;
}

int train_ps_flag(mt_train_ps_config *p, const char *flag, const char *arg)
{
    long v;
    int k;
    if (strcmp(flag, "workers") == 0)
        return cli_int(CMD, flag, arg, 1, 4096, &v) ? -1 : (p->workers = (int)v, 0);
    if (strcmp(flag, "shards") == 0)
        return cli_int(CMD, flag, arg, 1, MT_PS_MAX_SHARDS, &v) ? -1 : (p->shards = (int)v, 0);
    if (strcmp(flag, "delay") == 0)
        return cli_int(CMD, flag, arg, 0, 1000000, &v) ? -1 : (p->delay = v, 0);
    if (strcmp(flag, "oversubscribe") == 0) {
        p->oversubscribe = 1;
        return 0;
    }
    if (strcmp(flag, "ignore-memory") == 0) {
        p->ignore_memory = 1;
        return 0;
    }
    if (strcmp(flag, "mode") == 0) {
        if ((k = cli_choice(CMD, flag, arg, mt_ps_mode_names)) < 0)
            return -1;
        p->mode = k;
        return 0;
    }
    if (strcmp(flag, "max-staleness") == 0)
        return cli_int(CMD, flag, arg, 0, 1000000, &v) ? -1 : (p->max_staleness = v, 0);
    if (strcmp(flag, "stale-policy") == 0) {
        static const char *const policies[] = {"wait", "drop", NULL};
        if ((k = cli_choice(CMD, flag, arg, policies)) < 0)
            return -1;
        p->stale_policy = k == 1 ? MT_PS_STALE_DROP : MT_PS_STALE_WAIT;
        return 0;
    }
    if (strcmp(flag, "method") == 0) {
        static const char *const methods[] = {"msgd", "staleness-lr", "dc-asgd", "dana", NULL};
        if ((k = cli_choice(CMD, flag, arg, methods)) < 0)
            return -1;
        p->method = k;
        return 0;
    }
    if (strcmp(flag, "delay-dist") == 0) {
        if ((k = cli_choice(CMD, flag, arg, mt_delay_kind_names)) < 0)
            return -1;
        p->delay_kind = k;
        return 0;
    }
    cli_error(CMD, "--%s: not a multi-worker flag", flag);
    return -1;
}
