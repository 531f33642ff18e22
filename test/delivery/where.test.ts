// Content filters (`where`, contract §7): every operator against real events of the fixture
// corpus, and every kind of mistake refused at start-up with its path.
import { describe, expect, it } from 'vitest';
import { parseConfig, validateConfig, ConfigError } from '../../src/config.ts';
import { compileWhere, unsafePattern } from '../../src/delivery/where.ts';
import { buildEvent } from '../../src/event.ts';
import { NotificationHeader } from '../../src/green-api/schema.ts';
import { fixture } from '../helpers/fixtures.ts';

const at = new Date('2026-12-01T00:00:00Z');
const event = (name: string) => {
  const json = fixture(name).json;
  return buildEvent(json, NotificationHeader.parse(json), at);
};
const text = await event('incomingMessageReceived.textMessage.json');
const image = await event('incomingMessageReceived.imageMessage.json');
const group = await event('incomingMessageReceived.extendedTextMessage.json');
const state = await event('stateInstanceChanged.notAuthorized.json');

function matches(where: Record<string, unknown>) {
  const { test, issues } = compileWhere(where);
  expect(issues).toEqual([]);
  return [text, image, group, state].filter(test).map((e) => e.data.message?.kind ?? e.data.state);
}

describe('where', () => {
  it('matches literals and every field operator', () => {
    expect(matches({ 'data.message.kind': 'text' })).toEqual(['text', 'text']);
    expect(matches({ 'data.message.kind': { $eq: 'image' } })).toEqual(['image']);
    expect(matches({ 'data.message.kind': { $ne: 'text' } })).toEqual(['image', 'notAuthorized']);
    expect(matches({ 'data.message.kind': { $in: ['image', 'video'] } })).toEqual(['image']);
    expect(matches({ 'data.message.kind': { $nin: ['image', 'text'] } })).toEqual(['notAuthorized']);
    expect(matches({ 'data.message': { $exists: false } })).toEqual(['notAuthorized']);
    expect(matches({ 'data.message.media': { $exists: true } })).toEqual(['image']);
    expect(matches({ 'data.sender.id': { $startsWith: '7900' } })).toHaveLength(3);
    expect(matches({ 'data.message.text': { $contains: 'Green-API' } })).toEqual(['text']);
    expect(matches({ 'data.message.text': { $regex: '^i use', $flags: 'i' } })).toEqual(['text']);
    expect(matches({ 'data.chat.isGroup': false, greenapiinstance: '1234' })).toHaveLength(3);
    expect(matches({ 'data.raw.messageData.typeMessage': 'imageMessage' })).toEqual(['image']);
    expect(matches({ 'data.message.text': { $not: { $contains: 'Green' } } })).toEqual([
      'image',
      'text',
      'notAuthorized',
    ]);
  });

  it('combines filters with $and, $or and $not', () => {
    expect(matches({ $or: [{ 'data.message.kind': 'image' }, { type: 'com.green-api.instance.state' }] })).toEqual([
      'image',
      'notAuthorized',
    ]);
    expect(
      matches({ $and: [{ 'data.message.kind': 'text' }, { 'data.message.text': { $contains: 'Green-API' } }] }),
    ).toEqual(['text']);
    expect(matches({ $not: { type: { $startsWith: 'com.green-api.message' } } })).toEqual(['notAuthorized']);
  });

  it('refuses what cannot be a filter, naming where', () => {
    const issues = (where: unknown) => compileWhere(where).issues.map((i) => `${i.path.join(' ')}: ${i.message}`);
    expect(issues({ 'data.message.kind': { $like: 'x' } })).toEqual([
      expect.stringMatching(/^data\.message\.kind \$like: is not an operator/),
    ]);
    expect(issues({ 'data.mesage.kind': 'text' })).toEqual([
      'data.mesage.kind: is not a field of events (did you mean "data.message.kind"?)',
    ]);
    expect(issues({ 'data.message.text.length': 1 })).toEqual([
      'data.message.text.length: has no field "length" below it',
    ]);
    expect(issues({ $or: [] })).toEqual(['$or: must be a non-empty list of filters']);
    expect(issues({ $where: 'x' })).toEqual([expect.stringContaining('is not an operator here')]);
    expect(issues({ 'data.state': { $in: 'x' } })).toEqual(['data.state $in: must be a list of values']);
    expect(issues({ 'data.state': { $regex: '(' } })[0]).toMatch(/is not a valid regular expression/);
    expect(issues({ 'data.state': { $regex: 'x', $flags: 'g' } })[0]).toMatch(/flags i, m, s and u/);
  });

  it('refuses patterns that could take exponential time', () => {
    for (const pattern of [
      '(a+)+$',
      '(a*)*',
      '(.*x)*',
      '(a|aa)+',
      '(\\w+\\s?)+$',
      '(a)\\1',
      '(?<=a)b',
      'x'.repeat(300),
    ]) {
      expect(unsafePattern(pattern), pattern).not.toBeNull();
    }
    for (const pattern of ['^order #\\d+$', 'a+b*c?', '(abc){2}', '(?:ab)+', '[a-z]+@[a-z]+\\.com'])
      expect(unsafePattern(pattern), pattern).toBeNull();
  });

  it('stops the start with path-naming errors in the configuration', () => {
    const config = (where: unknown) => ({
      instances: { '*': { token: 't' } },
      targets: [{ name: 'crm', url: 'https://crm.example.com', where }],
    });
    const problems = (where: unknown) => {
      try {
        validateConfig(config(where), {});
        return [];
      } catch (err) {
        return (err as ConfigError).issues;
      }
    };
    expect(problems({ 'data.message.kind': 'text' })).toEqual([]);
    expect(problems({ 'data.mesage.kind': 'text' })).toEqual([
      'targets[0].where["data.mesage.kind"]: is not a field of events (did you mean "data.message.kind"?)',
    ]);
    expect(problems({ 'data.message.kind': { $like: 'x' } })[0]).toMatch(
      /^targets\[0\]\.where\["data\.message\.kind"\]\.\$like: is not an operator/,
    );
    expect(problems({ 'data.message.text': { $regex: '(a+)+' } })[0]).toMatch(
      /^targets\[0\]\.where\["data\.message\.text"\]\.\$regex: nests a quantifier/,
    );
    expect(() => parseConfig(JSON.stringify(config([])), {})).toThrow(
      'targets[0].where: Invalid input: expected record',
    );
  });
});
