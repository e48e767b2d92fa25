"""The domain: districts, their students and guardians, forms, packets and submissions.

Every invariant the database can hold is a constraint here; rules that need several rows
(R3-R7) live in `forms_catalog.rules`, writes in `forms_catalog.services`.
"""

import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

slug_validator = RegexValidator(r"^[a-z0-9][a-z0-9-]*$", _("Use lowercase letters, digits and hyphens."))


class District(models.Model):
    class Environment(models.TextChoices):
        US1 = "US1", "US1"
        US2 = "US2", "US2"
        CAN = "CAN", "CAN"

    class AvailableForms(models.TextChoices):
        AUTOMATIC = "automatic", _("Automatic (All Forms)")
        NONE = "none", _("None")
        MANUAL = "manual", _("Manual (Custom Selection)")

    slug = models.SlugField(max_length=64, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    environment = models.CharField(max_length=3, choices=Environment.choices, default=Environment.US1)
    has_enrollment = models.BooleanField(_("Enrollment product"), default=True)
    has_express = models.BooleanField(_("Enrollment Express product"), default=False)
    mypowerhub_enabled = models.BooleanField(_("MyPowerHub integration"), default=True)
    available_forms_mode = models.CharField(
        _("Available Forms"), max_length=10, choices=AvailableForms.choices, default=AvailableForms.AUTOMATIC
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="district_environment_valid",
                condition=Q(environment__in=["US1", "US2", "CAN"]),
                violation_error_message=_("The environment must be US1, US2 or CAN."),
            ),
            models.CheckConstraint(
                name="district_available_forms_mode_valid",
                condition=Q(available_forms_mode__in=["automatic", "none", "manual"]),
                violation_error_message=_("Available Forms must be Automatic, None or Manual."),
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def products(self) -> list[str]:
        return [p for p, on in (("enrollment", self.has_enrollment), ("express", self.has_express)) if on]


class Student(models.Model):
    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="students")
    sis_id = models.CharField(_("SIS ID"), max_length=64)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    grade = models.CharField(max_length=20, blank=True)
    # Demographic data as the SIS holds it (address, birth date...); prefills private forms.
    sis_data = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["last_name", "first_name", "sis_id"]
        constraints = [models.UniqueConstraint(fields=["district", "sis_id"], name="student_sis_id_unique")]

    def __str__(self):
        return f"{self.first_name} {self.last_name} ({self.sis_id})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Guardian(models.Model):
    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="guardians")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="guardian")
    global_id = models.CharField(_("Global identifier"), max_length=255)
    email = models.EmailField(blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    active = models.BooleanField(default=True)
    students = models.ManyToManyField(Student, through="GuardianStudent", related_name="guardians")

    class Meta:
        ordering = ["last_name", "first_name", "global_id"]
        constraints = [
            models.UniqueConstraint(fields=["district", "global_id"], name="guardian_global_id_unique")
        ]

    def __str__(self):
        name = f"{self.first_name} {self.last_name}".strip()
        return f"{name} <{self.global_id}>" if name else self.global_id


class GuardianStudent(models.Model):
    """A guardian's link to a student; `restricted` is the SIS guardian restriction (R8)."""

    guardian = models.ForeignKey(Guardian, on_delete=models.CASCADE, related_name="links")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="guardian_links")
    restricted = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["guardian", "student"], name="guardian_student_unique")]

    def __str__(self):
        return f"{self.guardian} → {self.student}{' (restricted)' if self.restricted else ''}"

    def clean(self):
        if self.guardian_id and self.student_id and self.guardian.district_id != self.student.district_id:
            raise ValidationError(_("A guardian can only be linked to a student of the same district."))

    @property
    def grants_access(self) -> bool:
        return self.active and not self.restricted and self.guardian.active and self.student.active


class Packet(models.Model):
    """An Enrollment Express packet; its audience is every student or a list of students."""

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="packets")
    key = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    all_students = models.BooleanField(_("For all students"), default=True)
    students = models.ManyToManyField(Student, blank=True, related_name="targeting_packets")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["district", "key"], name="packet_key_unique")]

    def __str__(self):
        return self.name


class Form(models.Model):
    class Product(models.TextChoices):
        ENROLLMENT = "enrollment", _("Enrollment")
        EXPRESS = "express", _("Enrollment Express")

    class Type(models.TextChoices):
        PUBLIC = "public", _("Public")
        RESTRICTED = "restricted", _("Restricted")
        PRIVATE = "private", _("Private")
        YEAR_ROUND_UPDATE = "year_round_update", _("Year-Round Update")

    class StudentType(models.TextChoices):
        NEW = "new", _("New")
        EXISTING = "existing", _("Existing")
        NEW_AND_EXISTING = "new_and_existing", _("New and Existing")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")
        SCHEDULED = "scheduled", _("Scheduled")

    # Types whose student type is fixed to `existing` (R2).
    FIXED_EXISTING_TYPES = ("private", "year_round_update")

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="forms")
    key = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    product = models.CharField(max_length=10, choices=Product.choices, default=Product.ENROLLMENT)
    type = models.CharField(max_length=20, choices=Type.choices, blank=True)
    student_type = models.CharField(
        _("Student Type"), max_length=20, choices=StudentType.choices, default=StudentType.NEW_AND_EXISTING
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    academic_year = models.CharField(max_length=40, blank=True)
    approval_status = models.BooleanField(_("Approval Status"), default=False)
    packet = models.ForeignKey(Packet, on_delete=models.PROTECT, null=True, blank=True, related_name="forms")
    # Part of the district's manual Available Forms selection (R4).
    in_available_selection = models.BooleanField(_("In the Available Forms selection"), default=False)

    class Meta:
        ordering = ["name", "key"]
        constraints = [
            models.UniqueConstraint(fields=["district", "key"], name="form_key_unique"),
            models.CheckConstraint(
                name="form_product_valid",
                condition=Q(product__in=["enrollment", "express"]),
                violation_error_message=_("The product must be Enrollment or Enrollment Express."),
            ),
            models.CheckConstraint(
                name="form_status_valid",
                condition=Q(status__in=["open", "closed", "scheduled"]),
                violation_error_message=_("The status must be Open, Closed or Scheduled."),
            ),
            models.CheckConstraint(
                name="form_student_type_valid",
                condition=Q(student_type__in=["new", "existing", "new_and_existing"]),
                violation_error_message=_("Student Type must be New, Existing or New and Existing."),
            ),
            # Enrollment forms have a type and no packet; express forms a packet and no type.
            models.CheckConstraint(
                name="form_enrollment_has_type",
                condition=~Q(product="enrollment")
                | (Q(type__in=["public", "restricted", "private", "year_round_update"]) & Q(packet__isnull=True)),
                violation_error_message=_("An enrollment form needs a form type and belongs to no packet."),
            ),
            models.CheckConstraint(
                name="form_express_needs_packet",
                condition=~Q(product="express") | (Q(packet__isnull=False) & Q(type="")),
                violation_error_message=_("An Enrollment Express form needs a packet and has no form type."),
            ),
            # R2: private and year-round-update forms are always for existing students;
            # express forms count as existing-student forms.
            models.CheckConstraint(
                name="form_fixed_student_type",
                condition=~Q(type__in=["private", "year_round_update"]) | Q(student_type="existing"),
                violation_error_message=_(
                    "Private and Year-Round Update forms are always for existing students; "
                    "Student Type must be Existing."
                ),
            ),
            models.CheckConstraint(
                name="form_express_student_type",
                condition=~Q(product="express") | Q(student_type="existing"),
                violation_error_message=_("Enrollment Express forms are always for existing students."),
            ),
        ]
        indexes = [models.Index(fields=["district", "product", "status"], name="form_district_product_idx")]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.product == self.Product.ENROLLMENT:
            if not self.type:
                errors["type"] = _("An enrollment form needs a type.")
            if self.packet_id:
                errors["packet"] = _("Only Enrollment Express forms belong to a packet.")
        elif self.product == self.Product.EXPRESS:
            if self.type:
                errors["type"] = _("Enrollment Express forms have no form type.")
            if not self.packet_id:
                errors["packet"] = _("An Enrollment Express form needs a packet.")
            elif self.district_id and self.packet.district_id != self.district_id:
                errors["packet"] = _("The packet belongs to another district.")
            if self.student_type != self.StudentType.EXISTING:
                errors["student_type"] = _("Enrollment Express forms are always for existing students.")
        if self.type in self.FIXED_EXISTING_TYPES and self.student_type != self.StudentType.EXISTING:
            errors["student_type"] = _(
                "Private and Year-Round Update forms are always for existing students; "
                "Student Type must be Existing."
            )
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            errors["closes_at"] = _("The form must close after it opens.")
        if errors:
            raise ValidationError(errors)


class Submission(models.Model):
    """One student's answers to one form, shared by every guardian of the student (R10)."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        SUBMITTED = "submitted", _("Submitted")

    class Workspace(models.TextChoices):
        NOT_IMPORTED = "not_imported", _("Not imported")
        PENDING_APPROVAL = "pending_approval", _("Pending approval")
        APPROVED = "approved", _("Approved")
        DISCARDED = "discarded", _("Discarded")
        REJECTED = "rejected", _("Rejected")

    district = models.ForeignKey(District, on_delete=models.CASCADE, related_name="submissions")
    # No index of its own: the unique (student, form) index serves every lookup by student.
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="submissions", db_index=False)
    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="submissions")
    started_by = models.ForeignKey(
        Guardian, on_delete=models.SET_NULL, null=True, blank=True, related_name="started_submissions"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    workspace = models.CharField(max_length=16, choices=Workspace.choices, default=Workspace.NOT_IMPORTED)
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    last_updated_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    # Outstanding balance; the sum of the submission's ledger entries, kept here for fast reads.
    balance = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    update_requested = models.BooleanField(default=False)
    # The district's message to the parents when it rejects or asks for an update (Submission Workspace).
    review_message = models.TextField(_("Message to the parent"), blank=True, max_length=2000)
    last_page = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    answers = models.JSONField(default=dict, blank=True)
    # Optimistic concurrency (R10): every save names the version it was based on.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["student", "form"], name="submission_student_form_unique"),
            models.CheckConstraint(
                name="submission_status_valid",
                condition=Q(status__in=["in_progress", "submitted"]),
                violation_error_message=_("A submission is in progress or submitted."),
            ),
            models.CheckConstraint(
                name="submission_workspace_valid",
                condition=Q(
                    workspace__in=["not_imported", "pending_approval", "approved", "discarded", "rejected"]
                ),
                violation_error_message=_("Unknown Submission Workspace state."),
            ),
            models.CheckConstraint(
                name="submission_submitted_has_time",
                condition=~Q(status="submitted") | Q(submitted_at__isnull=False),
                violation_error_message=_("A submitted submission needs its submission time."),
            ),
            models.CheckConstraint(
                name="submission_balance_not_negative",
                condition=Q(balance__gte=0),
                violation_error_message=_("The balance cannot be negative."),
            ),
            models.CheckConstraint(
                name="submission_last_page_positive",
                condition=Q(last_page__gte=1),
                violation_error_message=_("The last saved page is at least 1."),
            ),
            models.CheckConstraint(
                name="submission_version_positive",
                condition=Q(version__gte=1),
                violation_error_message=_("The version is at least 1."),
            ),
        ]
        indexes = [
            models.Index(fields=["district", "form", "status"], name="submission_district_form_idx"),
            models.Index(fields=["district", "workspace"], name="submission_district_ws_idx"),
            # Submission Workspace keyset paging (newest submitted first), whole district / by form / by state.
            models.Index(fields=["district", "status", "-submitted_at", "-id"], name="submission_ws_page_idx"),
            models.Index(fields=["form", "status", "-submitted_at", "-id"], name="submission_ws_form_page_idx"),
            models.Index(
                fields=["district", "workspace", "status", "-submitted_at", "-id"], name="submission_ws_state_page_idx"
            ),
        ]

    def __str__(self):
        return f"{self.form} — {self.student}"

    def clean(self):
        errors = {}
        if self.status == self.Status.SUBMITTED and not self.submitted_at:
            errors["submitted_at"] = _("A submitted submission needs its submission time.")
        if self.form_id and self.student_id and self.form.district_id != self.student.district_id:
            errors["form"] = _("The form and the student belong to different districts.")
        if self.balance is not None and self.balance < 0:
            errors["balance"] = _("The balance cannot be negative.")
        if errors:
            raise ValidationError(errors)


class LedgerEntry(models.Model):
    """A money movement on a submission: a charge (+), a payment (-) or an adjustment (±).

    The submission's balance is the sum of its entries; services keep `Submission.balance` equal to it.
    """

    class Kind(models.TextChoices):
        CHARGE = "charge", _("Charge")
        PAYMENT = "payment", _("Payment")
        ADJUSTMENT = "adjustment", _("Adjustment")

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="ledger_entries")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    reason = models.CharField(max_length=255, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="ledger_kind_valid",
                condition=Q(kind__in=["charge", "payment", "adjustment"]),
                violation_error_message=_("A ledger entry is a charge, a payment or an adjustment."),
            ),
            models.CheckConstraint(
                name="ledger_amount_nonzero",
                condition=~Q(amount=0),
                violation_error_message=_("A ledger entry cannot be zero."),
            ),
            models.CheckConstraint(
                name="ledger_payment_negative",
                condition=~Q(kind="payment") | Q(amount__lt=0),
                violation_error_message=_("A payment is recorded as a negative amount."),
            ),
            models.CheckConstraint(
                name="ledger_charge_positive",
                condition=~Q(kind="charge") | Q(amount__gt=0),
                violation_error_message=_("A charge is a positive amount."),
            ),
            # One ledger entry per payment reference (idempotent payments).
            models.UniqueConstraint(
                fields=["submission", "reference"], condition=~Q(reference=""), name="ledger_reference_unique"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount}"


# --- Form definitions, submission history and open-form locks (form tab, R9/R10) -------------


class FormPage(models.Model):
    """One page of a form. A form without pages is shown with a derived one-page default."""

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="pages")
    order = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)

    class Meta:
        ordering = ["form", "order"]
        constraints = [
            models.UniqueConstraint(fields=["form", "order"], name="form_page_order_unique"),
            models.CheckConstraint(name="form_page_order_positive", condition=Q(order__gte=1)),
        ]

    def __str__(self):
        return f"{self.form} — {self.order}. {self.title}"


field_key_validator = RegexValidator(
    r"^[a-z][a-z0-9_]*$", _("Use lowercase letters, digits and underscores, starting with a letter.")
)


class FormField(models.Model):
    class Kind(models.TextChoices):
        SHORT_TEXT = "short_text", _("Short text")
        LONG_TEXT = "long_text", _("Long text")
        DATE = "date", _("Date")
        NUMBER = "number", _("Number")
        SINGLE_CHOICE = "single_choice", _("Single choice")
        MULTIPLE_CHOICE = "multiple_choice", _("Multiple choice")
        CHECKBOX = "checkbox", _("Checkbox")
        SIGNATURE = "signature", _("E-signature (typed full name and date)")
        FILE = "file", _("File upload")

    CHOICE_KINDS = ("single_choice", "multiple_choice")

    page = models.ForeignKey(FormPage, on_delete=models.CASCADE, related_name="fields")
    order = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    key = models.CharField(max_length=64, validators=[field_key_validator])
    label = models.CharField(max_length=300)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SHORT_TEXT)
    required = models.BooleanField(default=False)
    choices = models.JSONField(default=list, blank=True, help_text=_("Single/multiple choice: a list of options."))
    help_text = models.CharField(max_length=500, blank=True)
    prefill_from = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("Private and Year-Round Update forms: a student field (first_name, last_name, full_name, "
                    "grade, sis_id) or a key of the student's SIS data."),
    )
    max_file_size = models.PositiveIntegerField(
        _("Largest file (bytes)"), null=True, blank=True, help_text=_("File uploads only; default 5 MB.")
    )
    allowed_types = models.CharField(
        _("Allowed file types"),
        max_length=200,
        blank=True,
        help_text=_("File uploads only: comma-separated extensions such as .pdf,.jpg,.png; empty allows "
                    ".pdf, .jpg, .jpeg and .png."),
    )

    class Meta:
        ordering = ["page", "order"]
        constraints = [
            models.UniqueConstraint(fields=["page", "order"], name="form_field_order_unique"),
            models.UniqueConstraint(fields=["page", "key"], name="form_field_key_unique"),
            models.CheckConstraint(name="form_field_order_positive", condition=Q(order__gte=1)),
            models.CheckConstraint(
                name="form_field_kind_valid",
                condition=Q(
                    kind__in=["short_text", "long_text", "date", "number", "single_choice", "multiple_choice",
                              "checkbox", "signature", "file"]
                ),
            ),
        ]

    def __str__(self):
        return f"{self.key} ({self.kind})"

    def clean(self):
        errors = {}
        choices = self.choices if isinstance(self.choices, list) else None
        if self.choices not in (None, []) and (
            choices is None or not all(isinstance(c, str) and c.strip() for c in choices)
        ):
            errors["choices"] = _("Choices must be a list of non-empty texts.")
        elif self.kind in self.CHOICE_KINDS:
            if not choices:
                errors["choices"] = _("A choice field needs at least one choice.")
            elif len(set(choices)) != len(choices):
                errors["choices"] = _("Choices must be different from each other.")
        elif choices:
            errors["choices"] = _("Only single and multiple choice fields have choices.")
        if self.kind != self.Kind.FILE and (self.max_file_size or self.allowed_types):
            errors["allowed_types"] = _("Only file uploads have a size limit and file types.")
        if self.allowed_types:
            bad = [t for t in self.allowed_types.split(",") if not re.fullmatch(r"\s*\.[A-Za-z0-9]{1,10}\s*", t)]
            if bad:
                errors["allowed_types"] = _("List extensions such as .pdf,.jpg separated by commas.")
        if self.page_id and self.key:
            clash = FormField.objects.filter(page__form_id=self.page.form_id, key=self.key).exclude(pk=self.pk)
            if clash.exists():
                errors["key"] = _("Another field of this form already uses this key.")
        if errors:
            raise ValidationError(errors)


class SubmissionRevision(models.Model):
    """Every submitted version of a submission's answers, in order; never changed once written."""

    class Kind(models.TextChoices):
        SUBMISSION = "submission", _("Submission")
        UPDATE = "update", _("Update")
        IMPORTED = "imported", _("Answers held before history was kept")

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    kind = models.CharField(max_length=12, choices=Kind.choices)
    answers = models.JSONField(default=dict, blank=True)
    submitted_at = models.DateTimeField()
    submitted_by = models.ForeignKey(
        Guardian, on_delete=models.SET_NULL, null=True, blank=True, related_name="submitted_revisions"
    )

    class Meta:
        ordering = ["submission", "number"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "number"], name="submission_revision_number_unique"),
            models.CheckConstraint(
                name="submission_revision_kind_valid", condition=Q(kind__in=["submission", "update", "imported"])
            ),
        ]

    def __str__(self):
        return f"{self.submission} — version {self.number}"


class FormLock(models.Model):
    """R9: the one form tab a guardian has open. Shared by every app server through the database.

    The row is taken over when it has expired (no heartbeat for FORM_LOCK_TIMEOUT seconds) or when
    the same form of the same student is opened again; `token` names the tab that holds it so a
    closing tab releases only its own lock.
    """

    guardian = models.OneToOneField(Guardian, on_delete=models.CASCADE, related_name="form_lock")
    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=64)
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"{self.guardian} has {self.form} open"
