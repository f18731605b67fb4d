// The CLI's lines that count pictures agree in number with their counts: "1 test picture", never
// "1 test pictures", in what a run trains on and what an evaluation read.
import { describe, expect, it } from 'vitest';
import { describeStoredData, testExamples, trainAndTest } from '../src/cli/train-report';

describe('counts of pictures in words', () => {
  it('says what a run trains on with each noun in the number of its count', () => {
    expect(describeStoredData('folder', 1, 1, null)).toBe('folder: 1 training and 1 test picture');
    expect(describeStoredData('folder', 9, 1, null)).toBe('folder: 9 training pictures and 1 test picture');
    expect(describeStoredData('folder', 1, 2, null)).toBe('folder: 1 training picture and 2 test pictures');
    expect(describeStoredData('mnist', 256, 64, null)).toBe('mnist: 256 training and 64 test examples');
    expect(trainAndTest(37, 4, 'example')).toBe('37 training and 4 test examples');
  });

  it('says how many test examples an evaluation read, one in the singular', () => {
    expect(testExamples(1, 'folder')).toBe('1 folder test example');
    expect(testExamples(40, 'mnist')).toBe('40 mnist test examples');
  });
});
