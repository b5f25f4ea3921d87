// The budget class lives in @labelq/inference, whose pool also uses it for decode memory.
export { ByteBudget } from '@labelq/inference';
