/* commands.h: the subcommands of `mutau`. Each lives in tools/cmd_NAME.c and
 * takes the arguments after its name (argv[0] is the subcommand's name). */
#ifndef MT_COMMANDS_H
#define MT_COMMANDS_H

int cmd_train(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_pca(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_version(int argc, char **argv);

/* The flag table of `mutau train`, for `mutau sweep`, which passes the
 * flags it does not know on to every cell's `mutau train`. */
struct option;
const struct option *cmd_train_flags(void);

#endif
