/**
 * Emitted on an upstream's http.Agent when the upstream pool evicts its connections (declared
 * dead) or drops it: engines that keep their own connections per upstream (undici) close them.
 */
export const EVICT_CONNECTIONS = 'zdl:evict-connections';
