// Custom matchers: expect(gradcheck(...)).toPass(). gradcheck itself throws on a failure (with the
// worst element in its message); the matcher also reads a report from { raiseException: false }.
import { expect } from 'vitest'
import type { GradcheckResult } from '../../src/index.js'

expect.extend({
  toPass(received: GradcheckResult) {
    return { pass: received.ok, message: () => (received.ok ? 'expected gradcheck to fail' : received.message) }
  },
})

declare module 'vitest' {
  interface Assertion {
    toPass(): void
  }
}
