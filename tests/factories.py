"""factory-boy factories; related objects stay in the same district."""

import factory
from django.contrib.auth import get_user_model

from forms_catalog.models import District, Form, Guardian, GuardianStudent, Packet, Student, Submission


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"district-{n}")
    name = factory.LazyAttribute(lambda d: f"{d.slug.title()} Public Schools")
    has_enrollment = True
    has_express = True


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Student

    district = factory.SubFactory(DistrictFactory)
    sis_id = factory.Sequence(lambda n: f"{1000 + n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    grade = "5"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user-{n}")
    password = "!"  # an unusable password: guardians sign in only through their district's provider


class GuardianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guardian

    district = factory.SubFactory(DistrictFactory)
    user = factory.SubFactory(UserFactory)
    global_id = factory.Sequence(lambda n: f"guardian-{n}@example.org")
    email = factory.LazyAttribute(lambda g: g.global_id)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class LinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GuardianStudent

    guardian = factory.SubFactory(GuardianFactory)
    student = factory.SubFactory(StudentFactory, district=factory.SelfAttribute("..guardian.district"))
    restricted = False


class PacketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Packet

    district = factory.SubFactory(DistrictFactory)
    key = factory.Sequence(lambda n: f"packet-{n}")
    name = factory.Sequence(lambda n: f"Packet {n}")
    all_students = True


class FormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Form

    district = factory.SubFactory(DistrictFactory)
    key = factory.Sequence(lambda n: f"form-{n}")
    name = factory.Sequence(lambda n: f"Form {n}")
    product = "enrollment"
    type = "public"
    student_type = "new_and_existing"
    status = "open"


class ExpressFormFactory(FormFactory):
    product = "express"
    type = ""
    student_type = "existing"
    packet = factory.SubFactory(PacketFactory, district=factory.SelfAttribute("..district"))


class SubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Submission

    student = factory.SubFactory(StudentFactory)
    form = factory.SubFactory(FormFactory, district=factory.SelfAttribute("..student.district"))
    district = factory.SelfAttribute("student.district")
    status = "in_progress"
