/** What a deploy command's exit status means; automation relies on these. */
export const EXIT = Object.freeze({
  /** Done: every slot runs the new version, in rotation. */
  DONE: 0,
  /** Failed or interrupted, and the lab is consistent: every slot in rotation with one version, no helper, no split. */
  FAILED_CONSISTENT: 1,
  /** Bad usage, or another deployer holds the lock: nothing was changed. */
  USAGE: 2,
  /** Failed and the lab is not consistent (a repair did not succeed): an operator must look. */
  NEEDS_OPERATOR: 3,
});

export const EXIT_CODES_HELP = `Exit codes:
  0  done
  1  failed (or interrupted) and the lab is consistent: every slot in rotation with one version
     (rolled back, or some slots already on the new version: run the same command again)
  2  bad usage, or the deploy lock is held by another deployer: nothing was changed
  3  failed and the lab is NOT consistent: an operator must look (npm run deploy -- status)`;
