export { LoadChecker, type LoadCheckerOptions } from './load-checker';
export { isFailure, type Outcome } from './outcome';
export { formatSummary, summarize, type Summary } from './summarize';
export { formatWebSocketSummary, type ServerClose, WebSocketChecker, type WebSocketCheckerOptions, webSocketOk, type WebSocketSummary } from './websocket-checker';
export { formatSseSummary, SseChecker, type SseCheckerOptions, sseOk, type SseSummary } from './sse-checker';
