"""Models for the backend conformance suite: one column of every field type."""

import uuid

from django.db import models


class Sample(models.Model):
    name = models.CharField(max_length=100, default="", blank=True)
    text = models.TextField(default="", blank=True)
    number = models.IntegerField(null=True)
    big = models.BigIntegerField(null=True)
    positive_big = models.PositiveBigIntegerField(null=True)
    small = models.SmallIntegerField(null=True)
    real = models.FloatField(null=True)
    amount = models.DecimalField(max_digits=20, decimal_places=6, null=True)
    flag = models.BooleanField(null=True)
    day = models.DateField(null=True)
    moment = models.DateTimeField(null=True)
    clock = models.TimeField(null=True)
    span = models.DurationField(null=True)
    token = models.UUIDField(null=True)
    blob = models.BinaryField(null=True)
    data = models.JSONField(null=True)
    email = models.EmailField(blank=True, default="")

    class Meta:
        app_label = "backend"

    def __str__(self) -> str:
        return self.name


class Unique(models.Model):
    code = models.CharField(max_length=20, unique=True)

    class Meta:
        app_label = "backend"

    def __str__(self) -> str:
        return self.code


class Parent(models.Model):
    name = models.CharField(max_length=20)

    class Meta:
        app_label = "backend"

    def __str__(self) -> str:
        return self.name


class Child(models.Model):
    parent = models.ForeignKey(Parent, on_delete=models.CASCADE, related_name="children")
    name = models.CharField(max_length=20)

    class Meta:
        app_label = "backend"

    def __str__(self) -> str:
        return self.name


class Identified(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    label = models.CharField(max_length=20)

    class Meta:
        app_label = "backend"

    def __str__(self) -> str:
        return self.label
