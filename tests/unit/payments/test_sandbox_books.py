"""The demo's sandbox gateway keeps its books on disk: a WeChat Pay sale made before a restart can be
refunded after it (over real HTTP, signatures included), and a used payment code stays used."""

from __future__ import annotations

import secrets

from cloudpos.payments.providers.base import SUCCESS
from cloudpos.payments.providers.wechat import WechatConfig, WechatPay
from cloudpos.payments.sandbox.app import serve_in_thread
from cloudpos.payments.testing import payment_code, throwaway_credentials


def _client(creds, url: str) -> WechatPay:
    return WechatPay(WechatConfig(url, creds.wechat_appid, creds.wechat_mch_id, creds.wechat_api_key, timeout_s=5))


def test_a_wallet_sale_is_refundable_after_the_sandbox_restarts(tmp_path):
    creds, books = throwaway_credentials(), tmp_path / "ledger.json"
    trade_no, code = f"T{secrets.token_hex(8)}", payment_code("1300")
    first = serve_in_thread(creds, books=books)
    try:
        paid = _client(creds, first.url).pay(out_trade_no=trade_no, amount_fen=1763, auth_code=code, subject="demo")
        assert paid.outcome == SUCCESS
    finally:
        first.stop()
    assert books.exists()

    second = serve_in_thread(creds, books=books)  # a new process's sandbox, same books
    try:
        wechat = _client(creds, second.url)
        assert wechat.query(trade_no).outcome == SUCCESS
        back = wechat.refund(out_trade_no=trade_no, out_refund_no=f"R{secrets.token_hex(6)}", total_fen=1763,
                             refund_fen=510)
        assert back.outcome == SUCCESS
        again = wechat.pay(out_trade_no=f"T{secrets.token_hex(8)}", amount_fen=100, auth_code=code, subject="x")
        assert again.outcome != SUCCESS  # the customer's code was used before the restart
        trade = second.state.ledger.get("wechat", trade_no)
        assert (trade.charges, trade.refunded_fen) == (1, 510)
    finally:
        second.stop()


def test_without_books_the_sandbox_forgets(tmp_path):
    creds = throwaway_credentials()
    first = serve_in_thread(creds)
    trade_no = f"T{secrets.token_hex(8)}"
    try:
        assert _client(creds, first.url).pay(out_trade_no=trade_no, amount_fen=100, auth_code=payment_code("1300"),
                                             subject="x").outcome == SUCCESS
    finally:
        first.stop()
    second = serve_in_thread(creds)
    try:
        assert second.state.ledger.get("wechat", trade_no) is None
        assert not list(tmp_path.iterdir())
    finally:
        second.stop()
