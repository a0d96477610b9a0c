export { Announcer, type AnnouncerOptions, type AnnounceEvent, type AnnouncerDeps, type DrainOutcome } from './announcer';
