export { LoadChecker, type LoadCheckerOptions } from './load-checker';
export { isFailure, type Outcome } from './outcome';
export { formatSummary, summarize, type Summary } from './summarize';
