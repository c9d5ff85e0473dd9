/**
 * The sandbox's own copy of the upstream codes and messages, taken from the upstreams' documents
 * (summarised in docs/upstreams.md). Deliberately not imported from src/upstreams or src/outcomes: a wrong table in
 * the product must not be able to pass its own test.
 */

/** vv-tool `code` → the document's `msg` (docs/upstreams.md, vv-tool codes). */
export const VVTOOL_MESSAGES: Readonly<Record<number, string>> = {
  0: '成功',
  100: '请求参数错误',
  101: '请求超时,请重试',
  103: '旺旺账号不存在',
  200: '系统错误,请联系客服',
  202: '系统错误,请稍后再试',
  203: '暂不支持当前接口',
  // 204 has two messages in the document; the quota one is the one the sandbox can produce.
  204: '请求异常:API 调用次数不足,请前往网站兑换次数。',
  302: '未授权店铺',
  401: '身份凭证无效',
  404: '请求路径或请求方式错误',
  // 614 always carries its own reason; a script that names none gets a plainly fatal one.
  614: '物流订单不存在',
};

/** The 614 reasons the order book produces (the vv-tool document's text, verbatim, ASCII commas included). */
export const VVTOOL_614 = {
  alreadyShipped: '物流订单状态不为新建状态,无需发货处理',
  waybillUsed: '您填写的运单号已被使用,不允许用此物流运单号发货',
  splitTogether: '拆单标记 和子订单列表两者必须都填或者都不填',
  alreadySplit: '订单已拆单,请走拆单逻辑',
} as const;

/** damaijia `status` → the documents' description (docs/upstreams.md, damaijia codes). */
export const DAMAIJIA_MESSAGES: Readonly<Record<number, string>> = {
  0: '成功',
  1003: '用户不存在',
  132: '请求格式必须为JSON',
  422: '参数列表不合法',
  200: '认证失败',
  202: '商品id不合法',
  203: '仓库id不合法',
  228: '订单来源不合法',
  217: '创建订单失败',
  212: '包裹id不合法',
  209: '账户余额不足',
};

/** The rate answer is not in either document; its shape follows each provider's body. */
export const TOO_MANY_REQUESTS = 'too many requests';

export function vvtoolMessage(code: number): string {
  return VVTOOL_MESSAGES[code] ?? `sandbox scripted code ${code}`;
}

export function damaijiaMessage(code: number): string {
  return DAMAIJIA_MESSAGES[code] ?? `sandbox scripted status ${code}`;
}
