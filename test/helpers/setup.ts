// Custom matchers: expect(gradcheck(...)).toPass() prints the worst element on failure.
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
