/** One challenge of a `WWW-Authenticate` header: a scheme and its auth-params (names lower-cased). */
export interface Challenge {
  scheme: string;
  params: Map<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parses a `WWW-Authenticate` value as RFC 7235 §4.1 says: several challenges may share one
 * value, and a comma inside a quoted string (`scope="repository:a/b:pull,push"`) does not split.
 * Unquoted values (gcr.io's `service=gcr.io`) are accepted too.
 */
export function parseWwwAuthenticate(value: string): Challenge[] {
  const challenges: Challenge[] = [];
  let index = 0;
  const length = value.length;

  const skipWhitespace = () => {
    while (index < length && (value[index] === ' ' || value[index] === '\t')) index++;
  };
  const readToken = () => {
    const start = index;
    while (index < length && TOKEN_CHAR.test(value[index]!)) index++;
    return value.slice(start, index);
  };
  const readQuoted = () => {
    let result = '';
    index++; // opening quote
    while (index < length && value[index] !== '"') {
      if (value[index] === '\\' && index + 1 < length) index++;
      result += value[index];
      index++;
    }
    index++; // closing quote
    return result;
  };

  while (index < length) {
    skipWhitespace();
    if (value[index] === ',') {
      index++;
      continue;
    }
    const scheme = readToken();
    if (scheme === '') {
      index++; // not a token: skip a stray character rather than loop forever
      continue;
    }
    const challenge: Challenge = { scheme, params: new Map() };
    challenges.push(challenge);
    // auth-params: name=value pairs separated by commas, until a token not followed by '='
    for (;;) {
      skipWhitespace();
      while (value[index] === ',') {
        index++;
        skipWhitespace();
      }
      const paramStart = index;
      const name = readToken();
      skipWhitespace();
      if (name === '' || value[index] !== '=') {
        index = paramStart; // the next challenge's scheme (or the end)
        break;
      }
      index++; // '='
      skipWhitespace();
      let paramValue: string;
      if (value[index] === '"') {
        paramValue = readQuoted();
      } else {
        const start = index;
        while (index < length && value[index] !== ',' && value[index] !== ' ' && value[index] !== '\t') index++;
        paramValue = value.slice(start, index);
      }
      challenge.params.set(name.toLowerCase(), paramValue);
    }
  }
  return challenges;
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

export function formatChallenge(challenge: Challenge): string {
  const params = [...challenge.params].map(([name, value]) => `${name}=${quote(value)}`);
  return params.length === 0 ? challenge.scheme : `${challenge.scheme} ${params.join(',')}`;
}

export function findChallenge(challenges: Challenge[], scheme: string): Challenge | undefined {
  const wanted = scheme.toLowerCase();
  return challenges.find((challenge) => challenge.scheme.toLowerCase() === wanted);
}
