"""The payment-gateway interface and the sandbox gateway shipped as the default.

`settings.PAYMENT_GATEWAY` names the class (dotted path). A real processor implements
`PaymentGateway.charge`; it must honour `idempotency_key` (a repeated key charges once), as the
sandbox does.

Sandbox test cards (any future expiry date, any 3-digit CVC):

| Card number         | Result                        |
|---------------------|-------------------------------|
| 4242 4242 4242 4242 | approved                      |
| 5555 5555 5555 4444 | approved                      |
| 4000 0000 0000 0002 | declined: card declined       |
| 4000 0000 0000 9995 | declined: insufficient funds  |

Any other number is declined as "not a sandbox test card".
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

SANDBOX_APPROVED = {"4242424242424242": "Visa", "5555555555554444": "Mastercard"}
SANDBOX_DECLINED = {
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
}


@dataclass(frozen=True)
class Card:
    number: str  # digits only
    exp_month: int
    exp_year: int
    cvc: str
    name: str

    @property
    def last4(self) -> str:
        return self.number[-4:]


@dataclass(frozen=True)
class ChargeResult:
    approved: bool
    transaction_id: str = ""
    brand: str = ""
    decline_code: str = ""

    @property
    def message(self) -> str:
        return {
            "card_declined": _("The card was declined. Use another card or contact your bank."),
            "insufficient_funds": _("The card was declined for insufficient funds."),
            "unknown_card": _("The card was declined: the sandbox accepts only its test card numbers."),
        }.get(self.decline_code, _("The card was declined."))


class PaymentGateway(Protocol):
    def charge(self, *, amount: Decimal, card: Card, idempotency_key: str, description: str) -> ChargeResult:
        """Charge `amount` to `card` once per `idempotency_key`; never raises for a decline."""
        ...


class SandboxGateway:
    """A stand-in for a card processor: no money moves; test card numbers decide the result.

    Like a real processor it remembers idempotency keys, so a repeated request returns the first
    result instead of charging again. `charges` lists the approved charges of this process.
    """

    is_sandbox = True
    _lock = threading.Lock()
    _results: dict[str, ChargeResult] = {}
    charges: list[tuple[str, Decimal]] = []

    def charge(self, *, amount: Decimal, card: Card, idempotency_key: str, description: str) -> ChargeResult:
        with self._lock:
            if idempotency_key in self._results:
                return self._results[idempotency_key]
            if card.number in SANDBOX_APPROVED:
                result = ChargeResult(True, f"sbx_{uuid.uuid4().hex[:16]}", SANDBOX_APPROVED[card.number])
                self.charges.append((idempotency_key, amount))
            else:
                result = ChargeResult(False, decline_code=SANDBOX_DECLINED.get(card.number, "unknown_card"))
            self._results[idempotency_key] = result
            return result

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls._results.clear()
            cls.charges.clear()


def get_gateway() -> PaymentGateway:
    return import_string(settings.PAYMENT_GATEWAY)()


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0
