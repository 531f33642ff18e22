// Builds the `npm start` bundle (dist/) once before the tests, for those that run the relay as a
// process the way `npm start` does (helpers/process.ts).
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
}
