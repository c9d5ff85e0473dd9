/** The HEALTHCHECK's command (exec form) from the Dockerfile text, line continuations joined. */
export function healthcheckArgv(dockerfile: string): string[] {
  const joined = dockerfile.replace(/\\\n\s*/g, ' ');
  const line = joined.split('\n').find((l) => l.startsWith('HEALTHCHECK '));
  const json = /\bCMD\s+(\[.*\])\s*$/.exec(line ?? '')?.[1];
  if (!json) throw new Error('no HEALTHCHECK … CMD [exec form] in the Dockerfile');
  return JSON.parse(json) as string[];
}
