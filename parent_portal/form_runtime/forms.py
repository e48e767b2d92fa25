"""The payment page's form: amount and card details, checked before the gateway is asked."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .payments import Card, luhn_ok


class PaymentForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount to pay"), max_digits=10, decimal_places=2, min_value=Decimal("0.01"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    name = forms.CharField(label=_("Name on card"), max_length=100,
                           widget=forms.TextInput(attrs={"autocomplete": "cc-name"}))
    number = forms.CharField(label=_("Card number"), max_length=23,
                             widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "cc-number"}))
    expiry = forms.CharField(label=_("Expiry date (MM/YY)"), max_length=7,
                             widget=forms.TextInput(attrs={"autocomplete": "cc-exp", "placeholder": "MM/YY"}))
    cvc = forms.CharField(label=_("Security code (CVC)"), max_length=4,
                          widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "cc-csc"}))
    # One key per payment page shown: a double click or a resent request pays once.
    key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, balance: Decimal, **kwargs):
        initial = kwargs.pop("initial", {}) or {}
        initial.setdefault("amount", balance)
        initial.setdefault("key", uuid.uuid4())
        super().__init__(*args, initial=initial, **kwargs)
        self.balance = balance

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount > self.balance:
            raise forms.ValidationError(_("The amount is more than the outstanding balance."))
        return amount

    def clean_number(self):
        digits = re.sub(r"[\s-]", "", self.cleaned_data["number"])
        if not digits.isdigit() or not 12 <= len(digits) <= 19 or not luhn_ok(digits):
            raise forms.ValidationError(_("Enter a valid card number."))
        return digits

    def clean_expiry(self):
        m = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", self.cleaned_data["expiry"])
        if not m or not 1 <= int(m.group(1)) <= 12:
            raise forms.ValidationError(_("Enter the expiry date as MM/YY."))
        month, year = int(m.group(1)), int(m.group(2))
        year = year + 2000 if year < 100 else year
        today = timezone.localdate()
        if (year, month) < (today.year, today.month):
            raise forms.ValidationError(_("The card has expired."))
        return month, year

    def clean_cvc(self):
        cvc = self.cleaned_data["cvc"].strip()
        if not re.fullmatch(r"\d{3,4}", cvc):
            raise forms.ValidationError(_("Enter the 3 or 4 digit security code."))
        return cvc

    def card(self) -> Card:
        month, year = self.cleaned_data["expiry"]
        return Card(self.cleaned_data["number"], month, year, self.cleaned_data["cvc"], self.cleaned_data["name"])
