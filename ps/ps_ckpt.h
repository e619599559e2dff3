/* ps_ckpt.h: a multi-worker run's state in a checkpoint (core/checkpoint.h).
 *
 * Sections, all raw native-endian bytes:
 *   ps.meta        int64[8]: layout 1, n, n_state, mode, workers, delay kind,
 *                  delay N, tau_max (what must match to resume)
 *   ps.version     int64: server steps done
 *   ps.theta       float[n]
 *   ps.velocity    float[n]          theta_k - theta_{k-1}
 *   ps.bn_state    float[n_state]    (when n_state > 0)
 *   ps.delay_ring  float[(tau_max+1) n] and ps.delay_rng uint64[4] (delay
 *                  mode with tau_max > 0; the RNG alone otherwise)
 *   ps.tau_epoch, ps.tau_total   the staleness histograms (mt_tau_hist)
 *   ps.dropped     int64: pushes the drop policy discarded so far (bounded
 *                  staleness only; a checkpoint without it resumes from 0)
 * Together they are everything mt_ps_run needs to continue as if never
 * stopped (delay mode: bit for bit). The trainer adds its own sections (data
 * position, RNGs, log sums) to the same checkpoint.
 *
 * Not here: the file format (core/checkpoint.h).
 */
#ifndef MT_PS_CKPT_H
#define MT_PS_CKPT_H

#include "core/checkpoint.h"
#include "ps/ps.h"

/* Adds the sections to a checkpoint being assembled. They point into ps,
 * which must not run or change until mt_ckpt_write. */
int mt_ps_ckpt_add(mt_ps *ps, mt_ckpt *c);

/* Restores a stopped ps (created with the same server and run configuration)
 * from a checkpoint read with mt_ckpt_read. A different parameter count, state
 * count, mode, worker count or delay setting is MT_ERR_FORMAT naming it. */
int mt_ps_ckpt_load(mt_ps *ps, const mt_ckpt *c);

#endif
