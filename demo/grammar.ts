// The demo corpus's grammar: short English-like stories (names, numbers, quoted speech, questions, relative
// clauses) drawn from a few hundred words with a seeded Rng, so that a small model can learn it and
// "fluent" and "gibberish" differ measurably. Deterministic: the same seed gives the same documents.
import { Rng } from '../core/rng.js';

// ---- vocabulary ------------------------------------------------------------------------------------------

const NAMES = [
  'Anna', 'Ben', 'Clara', 'David', 'Emma', 'Felix', 'Grace', 'Henry', 'Iris', 'Jack', 'Kate', 'Leo', 'Maria',
  'Noah', 'Olga', 'Paul', 'Rosa', 'Sam', 'Tom', 'Vera', 'Will', 'Zoe', 'Mr. Brown', 'Mrs. Green', 'Dr. Stone',
];

/** [singular, plural]; kind steers which verbs and adjectives fit. */
type Noun = [string, string];
const PEOPLE: Noun[] = [
  ['farmer', 'farmers'], ['teacher', 'teachers'], ['child', 'children'], ['doctor', 'doctors'],
  ['sailor', 'sailors'], ['baker', 'bakers'], ['king', 'kings'], ['queen', 'queens'], ['boy', 'boys'],
  ['girl', 'girls'], ['woman', 'women'], ['man', 'men'], ['student', 'students'], ['soldier', 'soldiers'],
  ['painter', 'painters'], ['driver', 'drivers'], ['neighbor', 'neighbors'], ['stranger', 'strangers'],
  ['friend', 'friends'], ['merchant', 'merchants'], ['guard', 'guards'], ['cook', 'cooks'], ['nurse', 'nurses'],
  ['fisherman', 'fishermen'], ['writer', 'writers'], ['singer', 'singers'], ['hunter', 'hunters'],
];
const ANIMALS: Noun[] = [
  ['dog', 'dogs'], ['cat', 'cats'], ['horse', 'horses'], ['bird', 'birds'], ['fox', 'foxes'], ['wolf', 'wolves'],
  ['cow', 'cows'], ['sheep', 'sheep'], ['goat', 'goats'], ['mouse', 'mice'], ['rabbit', 'rabbits'], ['bear', 'bears'],
  ['duck', 'ducks'], ['owl', 'owls'], ['frog', 'frogs'], ['deer', 'deer'], ['pig', 'pigs'], ['crow', 'crows'],
];
const THINGS: Noun[] = [
  ['book', 'books'], ['letter', 'letters'], ['basket', 'baskets'], ['box', 'boxes'], ['key', 'keys'], ['coin', 'coins'],
  ['apple', 'apples'], ['cake', 'cakes'], ['bottle', 'bottles'], ['lamp', 'lamps'], ['map', 'maps'], ['ring', 'rings'],
  ['hat', 'hats'], ['coat', 'coats'], ['shoe', 'shoes'], ['cup', 'cups'], ['plate', 'plates'], ['knife', 'knives'],
  ['rope', 'ropes'], ['stone', 'stones'], ['flower', 'flowers'], ['candle', 'candles'], ['bag', 'bags'],
  ['chair', 'chairs'], ['table', 'tables'], ['picture', 'pictures'], ['song', 'songs'], ['story', 'stories'],
  ['boat', 'boats'], ['cart', 'carts'], ['bell', 'bells'], ['clock', 'clocks'], ['blanket', 'blankets'],
  ['loaf of bread', 'loaves of bread'], ['bowl', 'bowls'], ['gift', 'gifts'], ['note', 'notes'], ['ticket', 'tickets'],
];
const PLACES: Noun[] = [
  ['house', 'houses'], ['garden', 'gardens'], ['market', 'markets'], ['river', 'rivers'], ['forest', 'forests'],
  ['village', 'villages'], ['city', 'cities'], ['school', 'schools'], ['kitchen', 'kitchens'], ['church', 'churches'],
  ['harbor', 'harbors'], ['field', 'fields'], ['hill', 'hills'], ['road', 'roads'], ['bridge', 'bridges'],
  ['castle', 'castles'], ['library', 'libraries'], ['station', 'stations'], ['shop', 'shops'], ['farm', 'farms'],
  ['lake', 'lakes'], ['tower', 'towers'], ['valley', 'valleys'], ['island', 'islands'], ['hall', 'halls'],
];
const TIMES = [
  'in the morning', 'in the evening', 'at night', 'at noon', 'after dinner', 'before breakfast', 'on Monday',
  'on Sunday', 'in the spring', 'in the winter', 'last summer', 'the next day', 'that afternoon', 'an hour later',
  'at dawn', 'after the rain',
];

const ADJ_GENERAL = [
  'old', 'young', 'small', 'big', 'tall', 'little', 'quiet', 'happy', 'sad', 'tired', 'kind', 'brave', 'clever',
  'strange', 'busy', 'lonely', 'proud', 'gentle', 'angry', 'calm',
];
const ADJ_THING = [
  'red', 'blue', 'green', 'yellow', 'white', 'black', 'heavy', 'broken', 'shiny', 'wooden', 'empty', 'warm', 'cold',
  'new', 'dusty', 'golden', 'tiny', 'large', 'round', 'soft', 'clean', 'dirty',
];
const ADJ_PLACE = ['dark', 'quiet', 'busy', 'old', 'empty', 'green', 'cold', 'bright', 'narrow', 'wide', 'distant', 'small'];
const ADJ_PRED = [
  'happy', 'tired', 'hungry', 'afraid', 'angry', 'surprised', 'ready', 'late', 'sure', 'glad', 'sorry', 'calm',
  'worried', 'busy', 'quiet', 'cold', 'lost',
];
const ADVERBS = [
  'slowly', 'quickly', 'quietly', 'carefully', 'suddenly', 'gently', 'happily', 'again', 'soon', 'often', 'finally',
  'loudly', 'always', 'never', 'almost', 'together',
];

/** [base, third person singular, past]. */
type Verb = [string, string, string];
/** Transitive verbs whose object is a thing. */
const V_THING: Verb[] = [
  ['carry', 'carries', 'carried'], ['find', 'finds', 'found'], ['buy', 'buys', 'bought'], ['sell', 'sells', 'sold'],
  ['open', 'opens', 'opened'], ['lose', 'loses', 'lost'], ['hold', 'holds', 'held'], ['take', 'takes', 'took'],
  ['bring', 'brings', 'brought'], ['drop', 'drops', 'dropped'], ['clean', 'cleans', 'cleaned'], ['fix', 'fixes', 'fixed'],
  ['paint', 'paints', 'painted'], ['hide', 'hides', 'hid'], ['want', 'wants', 'wanted'], ['keep', 'keeps', 'kept'],
  ['make', 'makes', 'made'], ['need', 'needs', 'needed'], ['break', 'breaks', 'broke'], ['pick up', 'picks up', 'picked up'],
];
/** Transitive verbs whose object is a person or animal. */
const V_BEING: Verb[] = [
  ['see', 'sees', 'saw'], ['help', 'helps', 'helped'], ['meet', 'meets', 'met'], ['call', 'calls', 'called'],
  ['follow', 'follows', 'followed'], ['watch', 'watches', 'watched'], ['thank', 'thanks', 'thanked'],
  ['visit', 'visits', 'visited'], ['feed', 'feeds', 'fed'], ['chase', 'chases', 'chased'], ['greet', 'greets', 'greeted'],
  ['wake', 'wakes', 'woke'], ['find', 'finds', 'found'], ['like', 'likes', 'liked'], ['ask', 'asks', 'asked'],
];
/** Intransitive verbs. */
const V_INTRANS: Verb[] = [
  ['sleep', 'sleeps', 'slept'], ['laugh', 'laughs', 'laughed'], ['sing', 'sings', 'sang'], ['wait', 'waits', 'waited'],
  ['smile', 'smiles', 'smiled'], ['run', 'runs', 'ran'], ['rest', 'rests', 'rested'], ['cry', 'cries', 'cried'],
  ['work', 'works', 'worked'], ['dance', 'dances', 'danced'], ['listen', 'listens', 'listened'], ['shout', 'shouts', 'shouted'],
];
/** Verbs of motion, followed by a preposition and a place. */
const V_MOTION: Verb[] = [
  ['walk', 'walks', 'walked'], ['go', 'goes', 'went'], ['run', 'runs', 'ran'], ['ride', 'rides', 'rode'],
  ['travel', 'travels', 'traveled'], ['hurry', 'hurries', 'hurried'], ['swim', 'swims', 'swam'], ['climb', 'climbs', 'climbed'],
  ['return', 'returns', 'returned'], ['drive', 'drives', 'drove'],
];
const MOTION_PREPS = ['to', 'toward', 'across', 'along', 'into', 'through', 'past', 'around'];
const PLACE_PREPS = ['in', 'near', 'behind', 'beside', 'outside', 'inside', 'at', 'by'];
const THING_PREPS = ['on', 'under', 'near', 'behind', 'beside', 'in'];
const SAY = ['said', 'asked', 'whispered', 'replied', 'shouted', 'answered'];
const CONNECT = ['but', 'and', 'so', 'because', 'while', 'although'];
const NUMBER_WORDS = ['two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'twelve', 'twenty'];

/** Every word the grammar can produce (for docs and tests): hundreds of them. */
export function grammarVocabulary(): Set<string> {
  const words = new Set<string>();
  const add = (s: string) => s.split(/[\s.]+/).filter(Boolean).forEach((w) => words.add(w));
  for (const n of [...PEOPLE, ...ANIMALS, ...THINGS, ...PLACES]) n.forEach(add);
  for (const v of [...V_THING, ...V_BEING, ...V_INTRANS, ...V_MOTION]) v.forEach(add);
  [...NAMES, ...TIMES, ...ADJ_GENERAL, ...ADJ_THING, ...ADJ_PLACE, ...ADJ_PRED, ...ADVERBS].forEach(add);
  [...MOTION_PREPS, ...PLACE_PREPS, ...THING_PREPS, ...SAY, ...CONNECT, ...NUMBER_WORDS].forEach(add);
  return words;
}

// ---- generation ------------------------------------------------------------------------------------------

interface Subject {
  text: string;
  plural: boolean;
  /** Pronoun for later reference (he/she/they/it). */
  pronoun: string;
}

/** Writes one story at a time; a story keeps its tense and its cast of characters. */
class Story {
  private readonly past: boolean;
  private readonly cast: Subject[];

  constructor(private readonly rng: Rng) {
    this.past = rng.float() < 0.75;
    const nCast = 1 + rng.int(3);
    this.cast = [];
    for (let i = 0; i < nCast; i++) this.cast.push(this.character());
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.rng.int(xs.length)]!;
  }

  chance(p: number): boolean {
    return this.rng.float() < p;
  }

  private character(): Subject {
    if (this.chance(0.6)) {
      const name = this.pick(NAMES);
      const female = /^(Anna|Clara|Emma|Grace|Iris|Kate|Maria|Olga|Rosa|Vera|Zoe|Mrs\.)/.test(name);
      return { text: name, plural: false, pronoun: female ? 'she' : 'he' };
    }
    const [sg] = this.pick(PEOPLE);
    const adj = this.chance(0.5) ? `${this.pick(ADJ_GENERAL)} ` : '';
    const female = /woman|girl|queen/.test(sg);
    return { text: `the ${adj}${sg}`, plural: false, pronoun: female ? 'she' : /man|boy|king/.test(sg) ? 'he' : 'they' };
  }

  /** A subject: a cast member (often by pronoun), another person, an animal, or a group. */
  private subject(): Subject {
    const r = this.rng.float();
    if (r < 0.55) {
      const who = this.pick(this.cast);
      if (this.chance(0.35)) return { text: who.pronoun, plural: who.pronoun === 'they', pronoun: who.pronoun };
      return who;
    }
    if (r < 0.7) {
      const a = this.pick(this.cast);
      const b = this.character();
      if (a.text === b.text) return a;
      return { text: `${a.text} and ${b.text}`, plural: true, pronoun: 'they' };
    }
    if (r < 0.85) {
      const plural = this.chance(0.35);
      return { text: this.nounPhrase(ANIMALS, ADJ_GENERAL, plural), plural, pronoun: plural ? 'they' : 'it' };
    }
    const plural = this.chance(0.5);
    return { text: this.nounPhrase(PEOPLE, ADJ_GENERAL, plural), plural, pronoun: 'they' };
  }

  /** "the red box", "a small dog", "three old books", "some apples". */
  nounPhrase(nouns: readonly Noun[], adjs: readonly string[], plural = this.chance(0.3)): string {
    const [sg, pl] = this.pick(nouns);
    const adj = this.chance(0.45) ? `${this.pick(adjs)} ` : '';
    if (plural) {
      const det = this.pick(['the ', 'the ', 'some ', 'many ', 'two ', 'three ', `${this.pick(NUMBER_WORDS)} `, '']);
      return `${det}${adj}${pl}`;
    }
    const det = this.pick(['the', 'the', 'the', 'a', 'his', 'her', 'their', 'this', 'that']);
    const article = det === 'a' && /^[aeiou]/.test(adj || sg) ? 'an' : det;
    return `${article} ${adj}${sg}`;
  }

  private place(): string {
    if (this.chance(0.2)) return `the ${this.pick(ADJ_PLACE)} ${this.pick(PLACES)[0]}`;
    if (this.chance(0.15)) return `the ${this.pick(PLACES)[0]} of ${this.pick(['Elm', 'Oak', 'Stone', 'Ash', 'Hill'])}field`;
    return `the ${this.pick(PLACES)[0]}`;
  }

  /** The verb in this story's tense, agreeing with the subject. */
  private verb(v: Verb, plural: boolean): string {
    if (this.past) return v[2];
    return plural ? v[0] : v[1];
  }

  private be(plural: boolean): string {
    if (this.past) return plural ? 'were' : 'was';
    return plural ? 'are' : 'is';
  }

  private predicate(s: Subject): string {
    const r = this.rng.float();
    if (r < 0.3) {
      const obj = this.nounPhrase(THINGS, ADJ_THING);
      const tail = this.chance(0.35) ? ` ${this.pick(THING_PREPS)} ${this.nounPhrase(THINGS, ADJ_THING, false)}` : '';
      return `${this.verb(this.pick(V_THING), s.plural)} ${obj}${tail}`;
    }
    if (r < 0.5) {
      const obj = this.chance(0.5) ? this.pick(NAMES) : this.nounPhrase(this.chance(0.5) ? PEOPLE : ANIMALS, ADJ_GENERAL);
      const rel = this.chance(0.2) ? ` who ${this.verb(this.pick(V_THING), false)} ${this.nounPhrase(THINGS, ADJ_THING)}` : '';
      return `${this.verb(this.pick(V_BEING), s.plural)} ${obj}${rel}`;
    }
    if (r < 0.7) return `${this.verb(this.pick(V_MOTION), s.plural)} ${this.pick(MOTION_PREPS)} ${this.place()}`;
    if (r < 0.82) {
      const adv = this.chance(0.5) ? ` ${this.pick(ADVERBS)}` : '';
      const where = this.chance(0.5) ? ` ${this.pick(PLACE_PREPS)} ${this.place()}` : '';
      return `${this.verb(this.pick(V_INTRANS), s.plural)}${adv}${where}`;
    }
    if (r < 0.92) return `${this.be(s.plural)} ${this.chance(0.3) ? 'very ' : ''}${this.pick(ADJ_PRED)}`;
    return `${this.be(s.plural)} ${this.pick(PLACE_PREPS)} ${this.place()}`;
  }

  private clause(): string {
    const s = this.subject();
    const adv = this.chance(0.12) ? `${this.pick(ADVERBS)} ` : '';
    return `${s.text} ${adv}${this.predicate(s)}`;
  }

  /** One sentence, with its final punctuation. */
  sentence(): string {
    const r = this.rng.float();
    let out: string;
    if (r < 0.4) {
      out = `${this.clause()}.`;
    } else if (r < 0.52) {
      out = `${this.pick(TIMES)}, ${this.clause()}.`;
    } else if (r < 0.64) {
      out = `${this.clause()}, ${this.pick(CONNECT)} ${this.clause()}.`;
    } else if (r < 0.74) {
      // quoted speech
      const who = this.pick(this.cast);
      const said = this.pick(SAY);
      const speech = this.chance(0.5) ? `${cap(this.clause())}.` : this.question();
      const line = speech.endsWith('.') ? `${speech.slice(0, -1)},` : speech;
      out = `"${line}" ${said} ${who.text}.`;
    } else if (r < 0.82) {
      out = this.question();
    } else if (r < 0.92) {
      // numbers: counts, years, times, prices
      const n = 2 + this.rng.int(98);
      const k = this.rng.int(4);
      if (k === 0) out = `there ${this.past ? 'were' : 'are'} ${n} ${this.pick(THINGS)[1]} ${this.pick(PLACE_PREPS)} ${this.place()}.`;
      else if (k === 1) out = `in ${1800 + this.rng.int(220)}, ${this.clause()}.`;
      else if (k === 2) out = `at ${1 + this.rng.int(12)} o'clock, ${this.clause()}.`;
      else out = `${this.pick(this.cast).text} paid ${n} coins for ${this.nounPhrase(THINGS, ADJ_THING, false)}.`;
    } else {
      const s = this.subject();
      out = `${s.text} ${this.predicate(s)} ${this.pick(TIMES)}.`;
    }
    return cap(out);
  }

  private question(): string {
    const s = this.subject();
    const aux = this.past ? 'did' : s.plural ? 'do' : 'does';
    const r = this.rng.float();
    if (r < 0.5) return `${cap(aux)} ${s.text} ${this.pick(V_THING)[0]} ${this.nounPhrase(THINGS, ADJ_THING)}?`;
    if (r < 0.75) return `Where ${aux} ${s.text} ${this.pick(V_MOTION)[0]}?`;
    return `Why ${this.be(s.plural)} ${s.text} so ${this.pick(ADJ_PRED)}?`;
  }
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** One document: a short story of 3-9 sentences. */
export function generateDocument(rng: Rng): string {
  const story = new Story(rng);
  const n = 3 + rng.int(7);
  const sentences: string[] = [];
  for (let i = 0; i < n; i++) sentences.push(story.sentence());
  return sentences.join(' ');
}

/** `count` documents from `seed`: the same seed always gives the same documents. */
export function generateDocuments(seed: number, count: number): string[] {
  const rng = Rng.seeded(seed);
  const docs: string[] = [];
  for (let i = 0; i < count; i++) docs.push(generateDocument(rng));
  return docs;
}
