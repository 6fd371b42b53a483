from django.contrib import admin

from lm.models import LMTrainingRun, LMVersion


@admin.register(LMVersion)
class LMVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "base_model", "is_active", "created_at"]
    readonly_fields = [field.name for field in LMVersion._meta.fields]


@admin.register(LMTrainingRun)
class LMTrainingRunAdmin(admin.ModelAdmin):
    list_display = ["id", "status", "phase", "created_at"]
    readonly_fields = [field.name for field in LMTrainingRun._meta.fields]
