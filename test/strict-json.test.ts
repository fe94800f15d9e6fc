// The strict JSON parser used for untrusted headers: it agrees with JSON.parse on valid text,
// rejects what JSON.parse rejects, and adds bounded depth, duplicate-key errors and early checks.
import { describe, expect, it } from 'vitest'
import { SKIP, StrictJsonError, describeValue, formatPath, parseStrictJson, preview, type JsonKind } from '../src/io/strict-json.js'

const errorOf = (text: string, opts = {}): StrictJsonError => {
  try {
    parseStrictJson(text, opts)
  } catch (err) {
    expect(err).toBeInstanceOf(StrictJsonError)
    return err as StrictJsonError
  }
  throw new Error(`expected ${preview(text)} to be rejected`)
}

describe('parseStrictJson: agrees with JSON.parse', () => {
  it.each([
    '0', '-0', '1.5e3', '-12.25E-2', '1e400', 'true', 'false', 'null', '""', '"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t"',
    '"\\u00e9\\uD83D\\uDE00 ünï ✓"', '[]', '{}', ' [1, [2, [3]], {"a": null}] ', '{"a":{"b":[true,false,"x"]},"c":-1}',
    '{"__proto__":1,"toString":{"valueOf":2}}', '"\\ud800"',
  ])('%s', (text) => {
    const ours = JSON.parse(JSON.stringify(parseStrictJson(text)))
    expect(ours).toEqual(JSON.parse(JSON.stringify(JSON.parse(text))))
  })

  it('"__proto__" and "toString" are plain keys: own data properties, no prototype is set', () => {
    const v = parseStrictJson('{"__proto__":{"x":1},"toString":1}') as Record<string, unknown>
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype)
    expect(Object.keys(v)).toEqual(['__proto__', 'toString'])
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toEqual({ x: 1 })
    expect(v.toString).toBe(1)
  })

  it.each([
    '', ' ', '{', '[1,]', '{"a":1,}', '{a:1}', "'a'", '01', '1.', '.5', '+1', '-', '1e', 'tru', 'nul', 'NaN', 'Infinity',
    '"a', '"\\x"', '"\\u12G4"', '"tab\there"', '[1 2]', '{"a" 1}', '1 2', '{"a":1}}', '[',
  ])('rejects %j like JSON.parse', (text) => {
    expect(() => JSON.parse(text)).toThrow()
    expect(errorOf(text).message).toMatch(/at offset \d+/)
  })
})

describe('parseStrictJson: what JSON.parse does not do', () => {
  it('bounds the depth: the issue\'s 3,156 nested arrays fail with a message, not a stack overflow', () => {
    const text = '{"a":' + '['.repeat(3156) + ']'.repeat(3156) + '}'
    const e = errorOf(text)
    expect(e.message).toMatch(/nesting deeper than 64 levels at offset 68 \(\$\["a"\]\[0\]\[0\]/)
    expect(parseStrictJson('['.repeat(64) + ']'.repeat(64))).toBeTruthy()
    expect(errorOf('['.repeat(65) + ']'.repeat(65)).message).toMatch(/deeper than 64/)
    expect(errorOf('[[[1]]]', { maxDepth: 2 }).message).toMatch(/deeper than 2 levels at offset 2/)
  })

  it('fails fast and small on 40M levels (no stack, no memory growth)', () => {
    const text = '['.repeat(40_000_000)
    const t0 = performance.now()
    expect(errorOf(text).offset).toBe(64)
    expect(performance.now() - t0).toBeLessThan(1000) // about 1 ms; generous for a loaded machine
  })

  it('rejects duplicate keys, naming the key, the offset and the path', () => {
    expect(errorOf('{"a":1,"a":2}').message).toBe('duplicate key "a" at offset 7 ($["a"])')
    const e = errorOf('{"w":{"dtype":"F32","shape":[1],"dtype":"F64"}}')
    expect(e.message).toMatch(/duplicate key "dtype" at offset 32 \(\$\["w"\]\["dtype"\]\)/)
    expect(e.path).toEqual(['w', 'dtype'])
    expect(e.reason).toBe('duplicate')
    // Same text after escapes is the same key.
    expect(errorOf('{"a":1,"\\u0061":2}').message).toMatch(/duplicate key "a"/)
  })

  it('enter sees each value before it is read and can reject it there', () => {
    const seen: string[] = []
    parseStrictJson('{"a":[1,"x"],"b":null}', {
      enter: (p: readonly (string | number)[], k: JsonKind) => {
        seen.push(`${formatPath(p)}:${k}`)
        return undefined
      },
    })
    expect(seen).toEqual(['$:object', '$["a"]:array', '$["a"][0]:number', '$["a"][1]:string', '$["b"]:null'])
    // 25M empty objects where strings are expected: rejected at the first one.
    const text = '{"m":{' + Array.from({ length: 1000 }, (_, i) => `"${i}":{}`).join(',') + '}}'
    const e = errorOf(text, { enter: (p: readonly (string | number)[], k: JsonKind) => (p.length === 2 && k !== 'string' ? `expected a string, found ${k}` : undefined) })
    expect(e.message).toBe('expected a string, found object at offset 10 ($["m"]["0"])')
  })

  it('SKIP checks a value without building it: it reads as null', () => {
    const skipX = (p: readonly (string | number)[]) => (p[0] === 'x' ? SKIP : undefined)
    const v = parseStrictJson('{"x":{"a":[1,{"b":"\\u0041"}],"a":2},"y":[3]}', { enter: skipX }) as Record<string, unknown>
    expect(JSON.parse(JSON.stringify(v))).toEqual({ x: null, y: [3] })
    // Still checked for grammar and depth, not for repeated keys (nothing is kept to compare).
    expect(errorOf('{"x":[1,]}', { enter: skipX }).reason).toBe('syntax')
    expect(errorOf('{"x":' + '['.repeat(100) + ']'.repeat(100) + '}', { enter: skipX }).reason).toBe('depth')
  })

  it('describes values without calling their methods, and keeps paths short', () => {
    const hostile = { toString: () => { throw new Error('called') }, valueOf: 1 }
    expect(describeValue(hostile)).toBe('an object with keys "toString", "valueOf"')
    expect(describeValue([1, 'a', {}, [], null])).toBe('[1,"a",{…},[…],null]')
    expect(describeValue(new Array(20).fill(0))).toBe('[0,0,0,0,0,0,0,0,… (20 items)]')
    expect(describeValue(Object.create(null))).toBe('an empty object')
    expect(formatPath(['a', 0, 1, 2, 3, 4, 5, 6, 7])).toBe('$["a"][0][1][2]…[6][7] (9 levels)')
  })

  it('keeps messages short for huge keys and strings', () => {
    const key = 'k'.repeat(1_000_000)
    const e = errorOf(`{"${key}":1,"${key}":2}`)
    expect(e.message.length).toBeLessThan(200)
    expect(e.message).toMatch(/duplicate key "k{60}"… \(1000000 characters\)/)
  })
})
