/** A deploy failure with a stable code; `cause` keeps the original. */
export class DeployError extends Error {
  constructor(
    readonly code:
      | 'DEPLOY_ERR_ARGS'
      | 'DEPLOY_ERR_LB_UNREACHABLE'
      | 'DEPLOY_ERR_LB_REJECTED'
      | 'DEPLOY_ERR_HEALTH_TIMEOUT'
      | 'DEPLOY_ERR_RUNTIME'
      | 'DEPLOY_ERR_ROLLBACK_FAILED'
      | 'DEPLOY_ERR_PRECONDITION'
      | 'DEPLOY_ERR_ROLLED_BACK'
      | 'DEPLOY_ERR_CANARY_FAILED'
      | 'DEPLOY_ERR_LOCKED'
      | 'DEPLOY_ERR_LOCK_LOST'
      | 'DEPLOY_ERR_INTERRUPTED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DeployError';
  }
}
