/**
 * The words of the attract, waiting-for-help and paying screens, English and Chinese
 * (simplified). Each help reason says why the attendant comes and what the shopper may do
 * meanwhile, in plain words (a shopper does not know what a "security request" is).
 */
import type { Lang } from '../strings.js';
import type { CardPictureKind, HelpReason } from './phaseScreen.js';

interface Reason {
  why: string;
  meanwhile: string;
}

const en = {
  touchToStart: 'or touch the screen to begin',
  start: 'Start',
  chooseLanguage: 'Language',
  helpTitle: 'An attendant is on the way',
  keepScanning: 'Keep scanning',
  yourCart: 'Your cart',
  items: (n: number) => `${n} item${n === 1 ? '' : 's'}`,
  reasons: {
    age: { why: 'Age check for an age-restricted item', meanwhile: 'Have your ID ready. You can keep scanning your other items.' },
    security: { why: 'Something unexpected is in the bagging area', meanwhile: 'If you put an item there without scanning it, take it out. Please add nothing else until the attendant arrives.' },
    removal: { why: 'Taking an item off the cart needs approval', meanwhile: 'Keep the item at hand for the attendant. You can keep scanning.' },
    override: { why: 'The payment needs to be checked by staff', meanwhile: 'Please wait here and do not pay again.' },
    void: { why: 'Cancelling your purchase', meanwhile: 'Please wait here. Your items stay in the cart until the attendant confirms.' },
    bagUnexpected: { why: 'Something unexpected is in the bagging area', meanwhile: 'If you put an item there without scanning it, take it out.' },
    bagRemoved: { why: 'An item was taken out of the bagging area', meanwhile: 'Put the item back in the bagging area.' },
    called: { why: 'You asked for help', meanwhile: 'You can keep scanning while you wait.' },
  } satisfies Record<HelpReason, Reason>,
  toPay: 'To pay',
  cardWhere: {
    insert: 'Insert your card into the card terminal, chip first',
    tap: 'Hold your card or phone flat on the card terminal',
    pin: 'Type your PIN on the card terminal’s keypad',
    any: 'Tap your card on the card terminal, or insert it',
  } satisfies Record<CardPictureKind, string>,
};

const zh: typeof en = {
  touchToStart: '或触摸屏幕开始',
  start: '开始',
  chooseLanguage: '语言',
  helpTitle: '工作人员马上就到',
  keepScanning: '继续扫描',
  yourCart: '您的购物车',
  items: (n: number) => `${n} 件商品`,
  reasons: {
    age: { why: '限制年龄的商品需要核实年龄', meanwhile: '请准备好身份证件。您可以继续扫描其他商品。' },
    security: { why: '装袋区有未识别的物品', meanwhile: '如果您放入了未扫描的商品，请将其取出。工作人员到达前请勿再放入其他物品。' },
    removal: { why: '删除商品需要工作人员批准', meanwhile: '请将该商品留给工作人员查看。您可以继续扫描。' },
    override: { why: '付款需要工作人员核对', meanwhile: '请在此稍候，不要再次付款。' },
    void: { why: '正在取消本次购物', meanwhile: '请在此稍候。工作人员确认前，商品仍保留在购物车中。' },
    bagUnexpected: { why: '装袋区有未识别的物品', meanwhile: '如果您放入了未扫描的商品，请将其取出。' },
    bagRemoved: { why: '有商品被从装袋区取出', meanwhile: '请将商品放回装袋区。' },
    called: { why: '您已呼叫帮助', meanwhile: '等待期间您可以继续扫描。' },
  },
  toPay: '应付金额',
  cardWhere: {
    insert: '请将卡片芯片朝前插入刷卡机',
    tap: '请将卡片或手机平放在刷卡机上',
    pin: '请在刷卡机键盘上输入密码',
    any: '请将卡片靠近刷卡机，或插入卡片',
  },
};

export const PHASE_STRINGS: Record<Lang, typeof en> = { en, zh };
export type PhaseStrings = typeof en;
